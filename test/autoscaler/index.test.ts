/**
 * The Lambda entry point: a configuration error fails the invocation with a message naming the variable.
 */
import type { Context } from 'aws-lambda';

const VALID = {
  SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
  SPACELIFT_API_KEY_ID: '01APIKEY',
  SPACELIFT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-AbCdEf',
  SPACELIFT_WORKER_POOL_ID: '01POOL',
  ASG_NAME: 'workers-asg',
};

const context = { functionName: 'autoscaler', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

async function invokeWith(env: Record<string, string | undefined>): Promise<unknown> {
  const saved = { ...process.env };
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
  for (const [name, value] of Object.entries({ ...VALID, ...env })) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    let entry: typeof import('../../lambda/autoscaler/index') | undefined;
    jest.isolateModules(() => {
      entry = require('../../lambda/autoscaler/index');
    });
    return await entry!.handler({}, context).then(() => undefined, (error: unknown) => error);
  } finally {
    process.env = saved;
  }
}

describe('autoscaler entry point', () => {
  test.each([
    [{ ASG_NAME: undefined }, 'environment variable ASG_NAME is required but not set'],
    [{ POLL_INTERVAL_SECONDS: '1' }, 'environment variable POLL_INTERVAL_SECONDS must be >= 5, got 1'],
    [{ SPACELIFT_API_ENDPOINT: 'http://acme.app.spacelift.io' }, 'environment variable SPACELIFT_API_ENDPOINT: Spacelift endpoint "http://acme.app.spacelift.io" must use https'],
    [{ SPACELIFT_API_KEY_SECRET_ARN: 'spacelift-key' }, 'environment variable SPACELIFT_API_KEY_SECRET_ARN: Spacelift API key secret reference "spacelift-key" must be'],
  ])('a configuration error fails the invocation with the variable named (%o)', async (env, message) => {
    const error = await invokeWith(env);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).message).toContain(message);
  });
});
