/**
 * The registration bundle the package ships (`npm run bundle` builds it; `npm test` builds first), run in-process
 * with the AWS SDK it leaves external mocked: the same suite as entry.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { entrySuite } from './entry-suite';

const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'registration', 'index.js');

describe('registration entry point (assets/registration/index.js)', () => {
  test('the bundle is built (run `npm run bundle`) and keeps the AWS SDK external', () => {
    expect(fs.existsSync(BUNDLE)).toBe(true);
    expect(fs.readFileSync(BUNDLE, 'utf8')).toContain('require("@aws-sdk/client-secrets-manager")');
  });

  entrySuite(BUNDLE);
});
