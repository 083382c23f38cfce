import { ConfigError } from '../../lambda/shared/env';
import { workerPoolApiFromEnv } from '../../lambda/spacelift/from-env';

const ENV = {
  endpoint: 'https://acme.app.spacelift.io',
  apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
  apiKeySecretRef: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-AbCdEf',
  workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
};

// Both handlers build their Spacelift client here, so both name the variable to fix.
describe('workerPoolApiFromEnv', () => {
  test('builds a client from valid variables', () => {
    expect(typeof workerPoolApiFromEnv(ENV, {}).snapshot).toBe('function');
  });

  test.each([
    [{ endpoint: 'http://acme.app.spacelift.io' }, 'environment variable SPACELIFT_API_ENDPOINT: '],
    [{ apiKeySecretRef: 'spacelift-key' }, 'environment variable SPACELIFT_API_KEY_SECRET_ARN: '],
  ])('%o fails with a ConfigError naming the variable', (change, message) => {
    expect(() => workerPoolApiFromEnv({ ...ENV, ...change }, {})).toThrow(ConfigError);
    expect(() => workerPoolApiFromEnv({ ...ENV, ...change }, {})).toThrow(message);
  });
});
