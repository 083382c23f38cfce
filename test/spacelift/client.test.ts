/**
 * The Spacelift client against the fake server over real HTTP: mapping, drains, JWT handling,
 * availableAt feature detection and log hygiene. Fault handling is in client-resilience.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError } from '../../lambda/shared/env';
import { createWorkerPoolApi, SpaceliftApiError } from '../../lambda/spacelift';
import { Harness } from './harness';

const harness = new Harness();
afterEach(() => harness.closeAll());

describe('snapshot', () => {
  test('maps pool counters and every worker, drained and invalid ones included', async () => {
    const fake = await harness.fake({ asgName: 'asg-a' });
    fake.setPendingRuns(4);
    fake.addWorker({ id: 'idle', instanceId: 'i-00000000000000001', createdAt: 1000, availableAt: 1500 });
    fake.addWorker({ id: 'busy', instanceId: 'i-00000000000000002', busy: true, createdAt: 1100 });
    fake.addWorker({ id: 'drained', instanceId: 'i-00000000000000003', drained: true, createdAt: 1200 });
    fake.addWorker({ id: 'not-json', metadata: 'instance_id=i-1', createdAt: 1300 });
    fake.addWorker({ id: 'no-instance', metadata: '{"asg_id":"asg-a"}', createdAt: 1400 });
    fake.addWorker({ id: 'empty', metadata: '', createdAt: 1500 });
    const { api } = harness.client(fake);

    const snapshot = await api.snapshot();

    expect(snapshot).toEqual({
      pendingRuns: 4,
      // Spacelift's own count, the cross-check of the list (core/registration.ts partialList).
      busyWorkers: 1,
      workers: [
        { id: 'idle', busy: false, drained: false, createdAt: 1000, availableAt: 1500, metadata: { valid: true, asgName: 'asg-a', instanceId: 'i-00000000000000001' } },
        { id: 'busy', busy: true, drained: false, createdAt: 1100, metadata: { valid: true, asgName: 'asg-a', instanceId: 'i-00000000000000002' } },
        { id: 'drained', busy: false, drained: true, createdAt: 1200, availableAt: 1200, metadata: { valid: true, asgName: 'asg-a', instanceId: 'i-00000000000000003' } },
        { id: 'not-json', busy: false, drained: false, createdAt: 1300, availableAt: 1300, metadata: { valid: false, reason: 'metadata is not JSON' } },
        { id: 'no-instance', busy: false, drained: false, createdAt: 1400, availableAt: 1400, metadata: { valid: false, reason: 'metadata has no valid instance_id' } },
        { id: 'empty', busy: false, drained: false, createdAt: 1500, availableAt: 1500, metadata: { valid: false, reason: 'no metadata' } },
      ],
    });
    // A busy worker's availableAt is null on the wire and absent in the mapped Worker.
    expect('availableAt' in snapshot.workers[1]).toBe(false);
  });

  test('timestamps stay epoch seconds, as served', async () => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1' });
    const [worker] = (await harness.client(fake).api.snapshot()).workers;
    expect(worker.createdAt).toBe(Math.floor(harness.now / 1000));
  });

  test('asks for schedulableRunsCount only when configured to', async () => {
    const fake = await harness.fake();
    fake.setPendingRuns(5);
    fake.setSchedulableRuns(2);

    expect(await harness.client(fake).api.snapshot()).toEqual({ pendingRuns: 5, busyWorkers: 0, workers: [] });
    expect(await harness.client(fake, { querySchedulableRuns: true }).api.snapshot())
      .toEqual({ pendingRuns: 5, schedulableRunsCount: 2, busyWorkers: 0, workers: [] });

    const queries = fake.operations().filter((op) => op.operationName === 'WorkerPoolSnapshot').map((op) => op.query);
    expect(queries[0]).not.toContain('schedulableRunsCount');
    expect(queries[1]).toContain('schedulableRunsCount');
  });

  test('sends named operations with variables, never interpolated values', async () => {
    const fake = await harness.fake({ workerPoolId: 'POOL"INJECTION' });
    const w = fake.addWorker();
    const { api } = harness.client(fake);
    await api.snapshot();
    await api.drain(w.id);
    for (const op of fake.operations()) {
      expect(op.operationName).toMatch(/^(ApiKeyUser|WorkerPoolSnapshot|WorkerDrainSet)$/);
      expect(op.query).not.toContain('INJECTION');
      expect(op.query).not.toContain(w.id);
      expect(op.query).not.toContain(fake.apiKeyId);
    }
    expect(fake.operations().map((op) => op.variables)).toEqual([
      { id: fake.apiKeyId, secret: '[redacted]' },
      { workerPool: 'POOL"INJECTION' },
      { workerPool: 'POOL"INJECTION', id: w.id, drain: true },
    ]);
  });

  test('an unknown pool (or one the key cannot see) is a non-retryable graphql error naming the permission', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake, { workerPoolId: 'OTHER' });
    const error = await api.snapshot().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpaceliftApiError);
    expect(error).toMatchObject({ kind: 'graphql', retryable: false });
    expect((error as Error).message).toMatch(/OTHER not found.*Space:Read/);
    // A null pool may be an expired token answered as anonymous: one re-authentication, then the error.
    expect(fake.count('workerPool')).toBe(2);
    expect(fake.count('apiKeyUser')).toBe(2);
    // The fresh token saw the same answer, so it is the truth: later ticks do not exchange again.
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql', retryable: false });
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql', retryable: false });
    expect(fake.count('workerPool')).toBe(4);
    expect(fake.count('apiKeyUser')).toBe(2);
  });
});

describe('drain and undrain', () => {
  test('drain marks an idle worker drained; undrain clears it', async () => {
    const fake = await harness.fake({ asgName: 'asg-a' });
    fake.addWorker({ id: 'w1', instanceId: 'i-0abcdef0123456789', createdAt: 900 });
    const { api } = harness.client(fake);

    expect(await api.drain('w1')).toEqual({
      worker: { id: 'w1', busy: false, drained: true, createdAt: 900, metadata: { valid: true, asgName: 'asg-a', instanceId: 'i-0abcdef0123456789' } },
    });
    expect(fake.isDrained('w1')).toBe(true);

    expect((await api.undrain('w1')).worker).toMatchObject({ drained: false });
    expect(fake.isDrained('w1')).toBe(false);
    // The mutation's selection has no availableAt, so it also works on old self-hosted servers.
    expect(fake.operations().filter((op) => op.fields.includes('workerDrainSet')).every((op) => !op.query.includes('availableAt'))).toBe(true);
  });

  test('draining a busy worker reports busy: true and leaves it drained', async () => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1', busy: true });
    const { api } = harness.client(fake);
    expect((await api.drain('w1')).worker).toMatchObject({ busy: true, drained: true });
    expect(fake.worker('w1')).toMatchObject({ busy: true, drained: true });
  });

  test('draining an unknown worker fails once, as a graphql error', async () => {
    const fake = await harness.fake();
    const { api, sleeps } = harness.client(fake);
    await expect(api.drain('ghost')).rejects.toMatchObject({
      name: 'SpaceliftApiError',
      kind: 'graphql',
      retryable: false,
      attempts: 1,
      graphqlMessages: ['could not set worker drain to true: not found'],
    });
    expect(sleeps).toEqual([]);
  });
});

describe('JWT handling', () => {
  test('one apiKeyUser exchange serves many operations', async () => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1' });
    const { api } = harness.client(fake);
    await api.snapshot();
    await api.drain('w1');
    await api.undrain('w1');
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(1);
    const [jwt] = fake.issuedJwts();
    expect(fake.operations().filter((op) => op.operationName !== 'ApiKeyUser').map((op) => op.authorization))
      .toEqual(Array(4).fill(`Bearer ${jwt}`));
  });

  test('concurrent first calls share one exchange', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake);
    await Promise.all([api.snapshot(), api.snapshot(), api.snapshot()]);
    expect(fake.count('apiKeyUser')).toBe(1);
  });

  test('the token is cached in module scope, so a new client (warm invocation) reuses it', async () => {
    const fake = await harness.fake();
    await harness.client(fake).api.snapshot();
    await harness.client(fake).api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(1);
  });

  test.each([
    ['refreshed a minute before validUntil', 600, 540_000],
    // A rejection in words we do not know then heals within that time.
    ['a long-lived token is reused for 15 minutes at most', 3600, 900_000],
  ])('the token is %s', async (_name, jwtTtlSeconds, reusedForMs) => {
    const fake = await harness.fake({ jwtTtlSeconds });
    const { api } = harness.client(fake);
    await api.snapshot();
    harness.advance(reusedForMs - 1_000);
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(1);
    harness.advance(2_000);
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.operations().at(-1)?.authorization).toBe(`Bearer ${fake.issuedJwts()[1]}`);
  });

  test('a GraphQL error on a reused token (a minute old or more) in words we do not know: re-authenticated once', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake);
    await api.snapshot();
    harness.advance(60_000);
    fake.injectFault({ kind: 'graphqlError', message: 'You are not logged in, could not find the worker pool' }, { match: 'workerPool', times: 1 });
    await expect(api.snapshot()).resolves.toMatchObject({ workers: [] });
    expect(fake.count('apiKeyUser')).toBe(2);
  });

  test.each([
    ['a drain of a worker that is gone', 'could not set worker drain to true: not found', 'workerDrainSet'],
    ['a field the schema lacks', 'Cannot query field "pendingRuns" on type "WorkerPool".', 'workerPool'],
  ])('a GraphQL error whose meaning is known (%s) is the answer even on a reused token', async (_name, message, match) => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1' });
    const { api } = harness.client(fake);
    await api.snapshot();
    harness.advance(60_000);
    fake.injectFault({ kind: 'graphqlError', message }, { match });
    await expect(match === 'workerPool' ? api.snapshot() : api.drain('w1')).rejects.toMatchObject({ kind: 'graphql' });
    expect(fake.count('apiKeyUser')).toBe(1);
  });

  test('a GraphQL error on a token fresh from an exchange is the answer: no second exchange', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake);
    fake.injectFault({ kind: 'graphqlError', message: 'You are not logged in, could not find the worker pool' }, { match: 'workerPool', times: 1 });
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql' });
    expect(fake.count('apiKeyUser')).toBe(1);
  });

  test('a short-lived token is reused for half its life', async () => {
    const fake = await harness.fake({ jwtTtlSeconds: 60 });
    const { api } = harness.client(fake);
    await api.snapshot();
    harness.advance(29_000);
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(1);
    harness.advance(2_000);
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(2);
  });

  test.each(['http', 'graphql'] as const)('re-authenticates once when the server rejects the token (%s)', async (via) => {
    const fake = await harness.fake();
    const { api, logger } = harness.client(fake);
    await api.snapshot();
    fake.injectFault({ kind: 'unauthorized', via }, { match: 'workerPool' });

    await expect(api.snapshot()).resolves.toEqual({ pendingRuns: 0, busyWorkers: 0, workers: [] });

    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.count('workerPool')).toBe(3);
    expect(fake.operations().at(-1)?.authorization).toBe(`Bearer ${fake.issuedJwts()[1]}`);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'info', message: expect.stringMatching(/re-authenticating/) }));
  });

  test('a server-side session removal is healed by the same path', async () => {
    const fake = await harness.fake({ authFailure: 'http' });
    const { api } = harness.client(fake);
    await api.snapshot();
    fake.revokeAllTokens();
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(2);
  });

  test('an expired token answered as anonymous (workerPool: null, spacectl #79) is healed by one re-authentication', async () => {
    const fake = await harness.fake({ authFailure: 'anonymous', asgName: 'asg' });
    fake.addWorker({ id: 'w1' });
    const { api, logger } = harness.client(fake);
    await api.snapshot();
    fake.revokeAllTokens();
    const snapshot = await api.snapshot();
    expect(snapshot.workers.map((w) => w.id)).toEqual(['w1']);
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.count('workerPool')).toBe(3);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'info', message: expect.stringMatching(/anonymous.*re-authenticating once/) }));
    // Every later tick uses the fresh token: no failing until the cached one would have expired.
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(2);
  });

  test('an anonymous answer as an injected fault: re-authenticated once; a pool still null after it is reported missing', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake);
    fake.injectFault({ kind: 'unauthorized', via: 'anonymous' }, { match: 'workerPool', times: 1 });
    await expect(api.snapshot()).resolves.toMatchObject({ workers: [] });
    expect(fake.count('apiKeyUser')).toBe(2);

    fake.injectFault({ kind: 'unauthorized', via: 'anonymous' }, { match: 'workerPool', times: 5 });
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql', retryable: false });
    expect(fake.count('apiKeyUser')).toBe(3);
    expect(fake.count('workerPool')).toBe(4);
  });

  test('re-authentication is attempted only once per operation', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake);
    fake.injectFault({ kind: 'unauthorized', via: 'graphql' }, { match: 'workerPool', times: 5 });
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'auth', retryable: false });
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.count('workerPool')).toBe(2);
  });

  test('a wrong API key secret fails fast as an auth error and is not cached', async () => {
    const fake = await harness.fake();
    const { api, sleeps } = harness.client(fake, { apiKeySecret: async () => 'wrong' });
    const error = await api.snapshot().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'auth', retryable: false });
    expect((error as Error).message).toContain(fake.apiKeyId);
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'auth' });
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.count('workerPool')).toBe(0);
    expect(sleeps).toEqual([]);
  });

  test('the secret is read lazily, only when a token is needed', async () => {
    const fake = await harness.fake();
    const reader = jest.fn(async () => fake.apiKeySecret);
    const { api } = harness.client(fake, { apiKeySecret: reader });
    expect(reader).not.toHaveBeenCalled();
    await api.snapshot();
    await api.snapshot();
    expect(reader).toHaveBeenCalledTimes(1);
  });
});

describe('availableAt feature detection', () => {
  test('falls back to a query without availableAt on a legacy schema, once per client', async () => {
    const fake = await harness.fake({ legacySchema: true, asgName: 'asg-a' });
    fake.addWorker({ id: 'w1', instanceId: 'i-00000000000000001', createdAt: 700 });
    const { api, logger } = harness.client(fake);

    const first = await api.snapshot();
    expect(first.workers).toEqual([
      { id: 'w1', busy: false, drained: false, createdAt: 700, metadata: { valid: true, asgName: 'asg-a', instanceId: 'i-00000000000000001' } },
    ]);
    await api.snapshot();

    const queries = fake.operations().filter((op) => op.fields.includes('workerPool')).map((op) => op.query.includes('availableAt'));
    expect(queries).toEqual([true, false, false]);
    expect(logger.entries.filter((e) => e.level === 'warn' && /availableAt/.test(e.message))).toHaveLength(1);
  });

  test('also recognises a 422 validation answer naming availableAt', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'graphqlError', status: 422, message: 'Cannot query field "availableAt" on type "Worker".' }, { match: 'workerPool' });
    const { api } = harness.client(fake);
    await expect(api.snapshot()).resolves.toEqual({ pendingRuns: 0, busyWorkers: 0, workers: [] });
    expect(fake.count('workerPool')).toBe(2);
  });

  test('a schema without WorkerPool.schedulableRunsCount: demand falls back to pendingRuns, with one warning', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'graphqlError', message: 'Cannot query field "schedulableRunsCount" on type "WorkerPool".' }, { match: 'workerPool' });
    const { api, logger } = harness.client(fake, { querySchedulableRuns: true });
    await expect(api.snapshot()).resolves.toEqual({ pendingRuns: 0, busyWorkers: 0, workers: [] });
    await api.snapshot();
    expect(fake.count('workerPool')).toBe(3);
    expect(logger.entries.filter((e) => e.level === 'warn' && /schedulableRunsCount/.test(e.message))).toHaveLength(1);
  });

  test('a schema without WorkerPool.busyWorkers: asked once more without it, and never again', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'graphqlError', status: 422, message: 'Cannot query field "busyWorkers" on type "WorkerPool".' }, { match: 'workerPool' });
    const { api, logger } = harness.client(fake);
    await expect(api.snapshot()).resolves.toEqual({ pendingRuns: 0, workers: [] });
    await api.snapshot();
    expect(fake.count('workerPool')).toBe(3);
    expect(logger.entries.filter((e) => e.level === 'warn' && /busyWorkers/.test(e.message))).toHaveLength(1);
  });

  test('an answer with errors next to data that looks whole (an empty pool) is a failure, never an empty pool', async () => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1', busy: true });
    fake.injectFault({ kind: 'partialData', message: 'could not load workers' }, { match: 'workerPool' });
    const { api } = harness.client(fake);
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql', graphqlMessages: ['could not load workers'] });
  });

  test('other validation errors are not retried', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'graphqlError', message: 'Cannot query field "pendingRuns" on type "WorkerPool".' }, { match: 'workerPool' });
    const { api } = harness.client(fake);
    await expect(api.snapshot()).rejects.toMatchObject({ kind: 'graphql', attempts: 1 });
    expect(fake.count('workerPool')).toBe(1);
  });
});

describe('configuration', () => {
  test('accepts an endpoint with a trailing slash or /graphql', async () => {
    const fake = await harness.fake();
    await harness.client(fake, { endpoint: `${fake.endpoint}/` }).api.snapshot();
    await harness.client(fake, { endpoint: `${fake.endpoint}/graphql` }).api.snapshot();
    expect(fake.count('workerPool')).toBe(2);
  });

  test.each([
    ['http://acme.app.spacelift.io', /must use https/],
    ['acme.app.spacelift.io', /not a URL/],
  ])('rejects endpoint %s', (endpoint, message) => {
    expect(() => createWorkerPoolApi({ endpoint, apiKeyId: 'k', apiKeySecret: async () => 's', workerPoolId: 'p' }))
      .toThrow(ConfigError);
    expect(() => createWorkerPoolApi({ endpoint, apiKeyId: 'k', apiKeySecret: async () => 's', workerPoolId: 'p' }))
      .toThrow(message);
  });

  test('rejects a non-positive maxAttempts or timeout', () => {
    const base = { endpoint: 'https://acme.app.spacelift.io', apiKeyId: 'k', apiKeySecret: async () => 's', workerPoolId: 'p' };
    expect(() => createWorkerPoolApi({ ...base, maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => createWorkerPoolApi({ ...base, timeoutMs: 1.5 })).toThrow(/timeoutMs/);
  });

  test('a Powertools Logger can be passed as is', async () => {
    const fake = await harness.fake();
    const { api } = harness.client(fake, { logger: new Logger({ logLevel: 'SILENT' }) });
    await expect(api.snapshot()).resolves.toBeDefined();
  });
});

describe('log hygiene', () => {
  test('neither the API key secret nor any JWT reaches a log line or an error message', async () => {
    const secret = 'CANARY-SECRET-7f3a9c';
    const fake = await harness.fake({ apiKeySecret: secret, jwtTtlSeconds: 120 });
    fake.addWorker({ id: 'w1' });
    const { api, logger } = harness.client(fake, { apiKeySecret: async () => secret, maxAttempts: 3 });
    const errors: unknown[] = [];
    const attempt = (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));

    await api.snapshot();
    const firstJwt = fake.issuedJwts()[0];
    // Retries, a rejected token, an expiry-driven refresh, and server errors echoing the secrets.
    fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPool' });
    fake.injectFault({ kind: 'unauthorized', via: 'graphql' }, { match: 'workerPool' });
    await attempt(api.snapshot());
    fake.injectFault({ kind: 'graphqlError', message: `token ${fake.issuedJwts()[1]} lacks drain rights` }, { match: 'workerDrainSet' });
    await attempt(api.drain('w1'));
    harness.advance(120_000);
    fake.injectFault({ kind: 'graphqlError', message: `key secret ${secret} was revoked` }, { match: 'apiKeyUser' });
    await attempt(api.snapshot());
    fake.injectFault({ kind: 'malformed' }, { match: 'workerPool', times: 5 });
    await attempt(api.snapshot());

    expect(errors).toHaveLength(3);
    expect(fake.issuedJwts().length).toBeGreaterThanOrEqual(2);
    expect(logger.entries.length).toBeGreaterThan(0);
    const everything = JSON.stringify(logger.entries)
      + errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)}`).join('\n');
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(secret);
    for (const jwt of [firstJwt, ...fake.issuedJwts()]) expect(everything).not.toContain(jwt);
  });

  test.each([470, 490])('a secret echoed across the 500-character cut of an error text leaves no part of it (at %i)', async (offset) => {
    const secret = 'CANARY-SECRET-straddling-the-cut-0123456789';
    const fake = await harness.fake({ apiKeySecret: secret });
    const { api, logger } = harness.client(fake, { apiKeySecret: async () => secret, maxAttempts: 1 });
    fake.injectFault({ kind: 'graphqlError', message: `${'x'.repeat(offset)}${secret} was revoked` }, { match: 'apiKeyUser' });
    const error = await api.snapshot().then(() => new Error('no error')).catch((e: unknown) => e as Error);
    const everything = `${error.message} ${JSON.stringify(error)} ${JSON.stringify(logger.entries)}`;
    expect(error.message).toContain('x'.repeat(10));
    expect(everything).not.toContain(secret.slice(0, 8));
  });
});
