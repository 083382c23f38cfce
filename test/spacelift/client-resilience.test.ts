/**
 * Every fault class ends in a bounded outcome: success after retries, or a SpaceliftApiError of the
 * right kind after a counted number of attempts. Backoff sleeps are injected, so nothing waits.
 */
import { SpaceliftApiError } from '../../lambda/spacelift';
import { Harness } from './harness';

const harness = new Harness();
afterEach(() => harness.closeAll());

async function failure(promise: Promise<unknown>): Promise<SpaceliftApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof SpaceliftApiError)) throw new Error(`expected a SpaceliftApiError, got ${String(error)}`);
  return error;
}

describe('HTTP 5xx', () => {
  test('succeeds after transient errors, backing off with jitter', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 502 }, { match: 'workerPool' });
    fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPool' });
    const { api, sleeps, logger } = harness.client(fake);

    await expect(api.snapshot()).resolves.toEqual({ pendingRuns: 0, busyWorkers: 0, workers: [] });

    expect(fake.count('workerPool')).toBe(3);
    // random() = 0.5 → half of 250 ms, then half of 500 ms.
    expect(sleeps).toEqual([125, 250]);
    const retries = logger.entries.filter((e) => e.level === 'warn');
    expect(retries.map((e) => e.attributes)).toEqual([
      expect.objectContaining({ operation: 'WorkerPoolSnapshot', attempt: 1, maxAttempts: 4, reason: 'http', status: 502, delayMs: 125 }),
      expect.objectContaining({ operation: 'WorkerPoolSnapshot', attempt: 2, maxAttempts: 4, reason: 'http', status: 503, delayMs: 250 }),
    ]);
  });

  test('gives up after maxAttempts with the last status', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 500 }, { match: 'workerPool', times: 10 });
    const { api, sleeps } = harness.client(fake, { maxAttempts: 3 });

    const error = await failure(api.snapshot());

    expect(error).toMatchObject({ kind: 'http', status: 500, retryable: true, attempts: 3, operation: 'WorkerPoolSnapshot' });
    expect(error.message).toMatch(/after 3 attempts/);
    expect(fake.count('workerPool')).toBe(3);
    expect(sleeps).toHaveLength(2);
  });

  test('backoff grows exponentially up to a cap', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPool', times: 10 });
    const { api, sleeps } = harness.client(fake, { maxAttempts: 8, random: () => 0.999 });
    await failure(api.snapshot());
    expect(sleeps).toEqual([249, 499, 999, 1998, 3996, 4995, 4995]);
  });

  test('the apiKeyUser exchange is retried the same way', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 504 }, { match: 'ApiKeyUser' });
    const { api } = harness.client(fake);
    await api.snapshot();
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.issuedJwts()).toHaveLength(1);
  });

  test('a retried drain is harmless: the flag is simply set again', async () => {
    const fake = await harness.fake();
    fake.addWorker({ id: 'w1', busy: true });
    fake.injectFault({ kind: 'http', status: 502 }, { match: 'workerDrainSet' });
    const { api } = harness.client(fake);
    await expect(api.drain('w1')).resolves.toMatchObject({ worker: { busy: true, drained: true } });
    expect(fake.count('workerDrainSet')).toBe(2);
  });
});

describe('HTTP 429', () => {
  test('honours Retry-After seconds', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 429, retryAfter: 3 }, { match: 'workerPool' });
    const { api, sleeps } = harness.client(fake);
    await api.snapshot();
    expect(sleeps).toEqual([3000]);
    expect(fake.count('workerPool')).toBe(2);
  });

  test('caps a long Retry-After', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 429, retryAfter: 600 }, { match: 'workerPool' });
    const { api, sleeps } = harness.client(fake);
    await api.snapshot();
    expect(sleeps).toEqual([10_000]);
  });

  test('without Retry-After falls back to jittered backoff, and is bounded', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status: 429 }, { match: 'workerPool', times: 10 });
    const { api, sleeps } = harness.client(fake);
    expect(await failure(api.snapshot())).toMatchObject({ kind: 'http', status: 429, attempts: 4 });
    expect(sleeps).toEqual([125, 250, 500]);
  });
});

describe('other 4xx', () => {
  test.each([400, 403, 404])('HTTP %i is not retried', async (status) => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'http', status }, { match: 'workerPool' });
    const { api, sleeps } = harness.client(fake);
    expect(await failure(api.snapshot())).toMatchObject({ kind: 'http', status, retryable: false, attempts: 1 });
    expect(sleeps).toEqual([]);
    expect(fake.count('workerPool')).toBe(1);
  });
});

describe('malformed responses', () => {
  test('one garbled body is retried', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'malformed' }, { match: 'workerPool' });
    const { api } = harness.client(fake);
    await expect(api.snapshot()).resolves.toBeDefined();
    expect(fake.count('workerPool')).toBe(2);
  });

  test('persistent garbage stops after two retries even when more attempts are allowed', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'malformed' }, { match: 'workerPool', times: 10 });
    const { api } = harness.client(fake, { maxAttempts: 6 });
    expect(await failure(api.snapshot())).toMatchObject({ kind: 'malformed', attempts: 3 });
    expect(fake.count('workerPool')).toBe(3);
  });
});

describe('GraphQL errors', () => {
  test('are not retried and keep the server messages', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'graphqlError', message: 'internal error: database unavailable' }, { match: 'workerPool' });
    const { api, sleeps } = harness.client(fake);
    const error = await failure(api.snapshot());
    expect(error).toMatchObject({ kind: 'graphql', retryable: false, attempts: 1, status: 200, graphqlMessages: ['internal error: database unavailable'] });
    expect(error.message).toContain('internal error: database unavailable');
    expect(sleeps).toEqual([]);
  });
});

describe('timeouts', () => {
  test('a slow answer is abandoned after timeoutMs and retried', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'delay', ms: 1_000 }, { match: 'workerPool' });
    const { api, logger } = harness.client(fake, { timeoutMs: 100 });
    const started = Date.now();
    await expect(api.snapshot()).resolves.toBeDefined();
    expect(Date.now() - started).toBeLessThan(900);
    expect(fake.count('workerPool')).toBe(2);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', attributes: expect.objectContaining({ reason: 'timeout', attempt: 1 }) }));
  });

  test('a server that never answers in time yields a timeout error after maxAttempts', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'delay', ms: 5_000 }, { match: 'workerPool', times: 10 });
    const { api } = harness.client(fake, { timeoutMs: 50, maxAttempts: 3 });
    expect(await failure(api.snapshot())).toMatchObject({ kind: 'timeout', retryable: true, attempts: 3 });
    expect(fake.count('workerPool')).toBe(3);
  });
});

describe('network errors', () => {
  test('connection refused is retried, then reported as a network error with the cause', async () => {
    const fake = await harness.fake();
    const endpoint = fake.endpoint;
    await fake.close();
    const calls: string[] = [];
    const { api, sleeps } = harness.client(fake, {
      endpoint,
      fetchImpl: async (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      },
    });
    const error = await failure(api.snapshot());
    expect(error).toMatchObject({ kind: 'network', retryable: true, attempts: 4, operation: 'ApiKeyUser' });
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(calls).toEqual(Array(4).fill(`${endpoint}/graphql`));
    expect(sleeps).toHaveLength(3);
  });

  test('a network error on one attempt is healed by the next', async () => {
    const fake = await harness.fake();
    let failed = false;
    const { api } = harness.client(fake, {
      fetchImpl: async (input, init) => {
        if (!failed) {
          failed = true;
          throw new TypeError('fetch failed', { cause: new Error('read ECONNRESET') });
        }
        return fetch(input, init);
      },
    });
    await expect(api.snapshot()).resolves.toBeDefined();
  });
});
