/**
 * The registration entry point as Lambda runs it (environment, Powertools logging, real 4096-bit keys, the AWS SDK
 * mocked), against the TypeScript source (entry.test.ts) and the esbuild bundle the package ships (bundle.test.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { capturedRun } from '../support/captured-run';
import { FakeSpacelift } from '../support/fake-spacelift';
import { publicKeyOfPrivate, sameKey, verifiedCsrKey } from './csr-check';
import { LOGICAL_ID, SECRET_ARN, STACK_ID } from './harness';

const API_KEY_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spacelift-api-key-AbCdEf';

// Real 4096-bit keys: a few seconds each on a busy machine.
const KEYGEN_TIMEOUT_MS = 60_000;

type Handler = (event: CloudFormationCustomResourceEvent, context: Context) => Promise<unknown>;

const context = {
  functionName: 'registration',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:registration',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/registration',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 120_000,
} as unknown as Context;

function event(requestType: 'Create' | 'Delete', physicalResourceId?: string): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: STACK_ID,
    RequestId: randomUUID(),
    LogicalResourceId: LOGICAL_ID,
    ResourceType: 'Custom::SpaceliftWorkerPool',
    ResourceProperties: { ServiceToken: 'x', Name: 'ci-pool', SecretArn: SECRET_ARN, DeletionPolicy: 'delete' },
  };
  return requestType === 'Create' ? { ...common, RequestType: 'Create' } : { ...common, RequestType: 'Delete', PhysicalResourceId: physicalResourceId! };
}

export function entrySuite(modulePath: string): void {
  let fake: FakeSpacelift;
  beforeEach(async () => {
    fake = await FakeSpacelift.start();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await fake.close();
  });

  function load(env: Record<string, string | undefined>) {
    let entry: { handler: Handler } | undefined;
    let sdk: typeof import('@aws-sdk/client-secrets-manager') | undefined;
    jest.isolateModules(() => {
      sdk = require('@aws-sdk/client-secrets-manager');
      entry = require(modulePath);
    });
    const secrets = mockClient(sdk!.SecretsManagerClient);
    // The API key's secret, and the pool's secret as a store (a read returns the last value written).
    let poolSecret: string | undefined = '{"placeholder":"x"}';
    secrets.on(sdk!.GetSecretValueCommand).callsFake((input: { SecretId?: string }) =>
      ({ SecretString: input.SecretId === SECRET_ARN ? poolSecret : fake.apiKeySecret }));
    secrets.on(sdk!.PutSecretValueCommand).callsFake((input: { SecretString?: string }) => {
      poolSecret = input.SecretString;
      return {};
    });
    const writes = () => secrets.commandCalls(sdk!.PutSecretValueCommand).map((call) => call.args[0].input);

    async function call(e: CloudFormationCustomResourceEvent): Promise<{ response?: unknown; error?: Error; output: string }> {
      const { outcome, output } = await capturedRun(env, () => entry!.handler(e, context));
      return 'value' in outcome ? { response: outcome.value, output } : { error: outcome.error as Error, output };
    }
    return { call, writes };
  }

  function env(): Record<string, string> {
    return {
      AWS_REGION: 'eu-west-1',
      SPACELIFT_API_ENDPOINT: fake.endpoint,
      SPACELIFT_API_KEY_ID: fake.apiKeyId,
      SPACELIFT_API_KEY_SECRET_ARN: API_KEY_SECRET_ARN,
    };
  }

  test('create, repeated create, delete: one pool, a 4096-bit key in the secret, nothing secret in the output', async () => {
    const entry = load(env());

    const first = await entry.call(event('Create'));
    expect(first.error).toBeUndefined();
    const [pool] = fake.pools().filter((p) => p.id !== fake.workerPoolId);
    expect(first.response).toEqual({ PhysicalResourceId: pool.id, Data: { WorkerPoolId: pool.id, CredentialsFingerprint: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    const second = await entry.call(event('Create'));
    expect(second.response).toEqual(first.response);
    expect(fake.pools()).toHaveLength(2);

    const written = entry.writes().map((input) => ({ id: input.SecretId, value: JSON.parse(input.SecretString!) }));
    // The key before the create, the token next to it, and again (same key, same token) when the repeat adopts the pool.
    expect(written.map((w) => w.id)).toEqual([SECRET_ARN, SECRET_ARN, SECRET_ARN]);
    const last = written[2].value;
    expect(last).toEqual(written[1].value);
    expect(Object.keys(last).sort()).toEqual(['SPACELIFT_POOL_PRIVATE_KEY', 'SPACELIFT_TOKEN']);
    expect(last.SPACELIFT_TOKEN).toBe(fake.pool(pool.id)!.config);
    const key = publicKeyOfPrivate(last.SPACELIFT_POOL_PRIVATE_KEY);
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
    // The answered fingerprint is the hash of the stored key's public half.
    const fingerprint = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
    expect(first.response).toMatchObject({ Data: { CredentialsFingerprint: fingerprint } });
    expect(sameKey(verifiedCsrKey(fake.pool(pool.id)!.certificateSigningRequest), key)).toBe(true);

    const removed = await entry.call(event('Delete', pool.id));
    expect(removed.error).toBeUndefined();
    expect(fake.pool(pool.id)).toBeUndefined();

    const output = first.output + second.output + removed.output;
    // Powertools lines are JSON; Node's own warnings (the AWS SDK's Node version notice) are not.
    const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.message)).toEqual(expect.arrayContaining(['created Spacelift worker pool', 'deleted Spacelift worker pool']));
    for (const w of written) {
      if (w.value.SPACELIFT_TOKEN !== undefined) expect(output).not.toContain(w.value.SPACELIFT_TOKEN);
      expect(output).not.toContain(w.value.SPACELIFT_POOL_PRIVATE_KEY);
      const pemLines = Buffer.from(w.value.SPACELIFT_POOL_PRIVATE_KEY, 'base64').toString('utf8').split('\n').filter((l: string) => l.length === 64);
      for (const line of pemLines) expect(output).not.toContain(line);
    }
    expect(output).not.toContain(fake.apiKeySecret);
    for (const jwt of fake.issuedJwts()) expect(output).not.toContain(jwt);
  }, KEYGEN_TIMEOUT_MS);

  test('a missing variable fails the event with a message naming it', async () => {
    const entry = load({ ...env(), SPACELIFT_API_KEY_ID: undefined });
    const outcome = await entry.call(event('Create'));
    expect(outcome.error?.message).toBe('environment variable SPACELIFT_API_KEY_ID is required but not set');
    expect(fake.operations()).toEqual([]);
  });

  test('a plain-http endpoint that is not loopback is refused', async () => {
    const entry = load({ ...env(), SPACELIFT_API_ENDPOINT: 'http://acme.app.spacelift.io' });
    const outcome = await entry.call(event('Create'));
    expect(outcome.error?.message).toBe('environment variable SPACELIFT_API_ENDPOINT: "http://acme.app.spacelift.io" must use https');
  });
}
