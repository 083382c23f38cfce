/**
 * The webhook entry point, from its TypeScript source; bundle.test.ts runs the same suite on the shipped bundle.
 */
import { endpointSuite } from './endpoint-suite';

describe('webhook endpoint (lambda/webhook/index.ts)', () => {
  endpointSuite(require.resolve('../../lambda/webhook/index'));
});
