import * as path from 'node:path';
import { entrySuite } from './entry-suite';

describe('registration entry point (lambda/registration/index.ts)', () => {
  entrySuite(path.join(__dirname, '..', '..', 'lambda', 'registration', 'index.ts'));
});
