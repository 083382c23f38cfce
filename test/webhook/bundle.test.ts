/**
 * The webhook bundle the package ships (`npm run bundle` builds it; `npm test` builds first), run in-process with
 * the AWS SDK it leaves external mocked: the same suite as endpoint.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { endpointSuite } from './endpoint-suite';

const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'webhook', 'index.js');

describe('webhook endpoint (assets/webhook/index.js)', () => {
  test('the bundle is built (run `npm run bundle`) and keeps the AWS SDK external', () => {
    expect(fs.existsSync(BUNDLE)).toBe(true);
    const code = fs.readFileSync(BUNDLE, 'utf8');
    expect(code).toContain('require("@aws-sdk/client-lambda")');
    expect(code).toContain('require("@aws-sdk/client-secrets-manager")');
  });

  endpointSuite(BUNDLE);
});
