/**
 * The fake itself: raw HTTP against it, so handler and end-to-end tests can trust what it answers.
 */
import { FakeSpacelift, type DrainEvent } from '../support/fake-spacelift';
import { Harness } from './harness';

const harness = new Harness();
afterEach(() => harness.closeAll());

async function post(fake: FakeSpacelift, body: unknown, jwt?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${fake.endpoint}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) };
}

async function login(fake: FakeSpacelift): Promise<string> {
  const { json } = await post(fake, {
    query: 'mutation L($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }',
    variables: { id: fake.apiKeyId, secret: fake.apiKeySecret },
  });
  return json.data.apiKeyUser.jwt;
}

const POOL_QUERY = 'query P($id: ID!) { workerPool(id: $id) { pendingRuns workers { id busy availableAt drained } } }';

describe('fake Spacelift: schema validation', () => {
  test('rejects a query selecting a field the schema does not have', async () => {
    const fake = await harness.fake();
    const jwt = await login(fake);
    const { status, json } = await post(fake, { query: 'query { workerPool(id: "x") { pendingRuns nope } }' }, jwt);
    expect(status).toBe(200);
    expect(json.data).toBeNull();
    expect(json.errors[0].message).toMatch(/^Cannot query field "nope" on type "WorkerPool"\./);
  });

  test('rejects a syntax error and a wrongly typed variable', async () => {
    const fake = await harness.fake();
    const jwt = await login(fake);
    const syntax = await post(fake, { query: 'query { workerPool(id: "x") { ' }, jwt);
    expect(syntax.json.errors[0].message).toMatch(/^Syntax Error/);
    const typed = await post(fake, {
      query: 'mutation D($drain: String!) { workerDrainSet(workerPool: "p", id: "w", drain: $drain) { id } }',
      variables: { drain: 'yes' },
    }, jwt);
    expect(typed.json.errors[0].message).toMatch(/Variable "\$drain" of type "String!" used in position expecting type "Boolean!"/);
  });

  test('the legacy schema has no Worker.availableAt, the current one has', async () => {
    const legacy = await harness.fake({ legacySchema: true });
    const legacyAnswer = await post(legacy, { query: POOL_QUERY, variables: { id: legacy.workerPoolId } }, await login(legacy));
    expect(legacyAnswer.json.errors[0].message).toBe('Cannot query field "availableAt" on type "Worker".');

    const current = await harness.fake();
    current.addWorker({ id: 'w1', createdAt: 100 });
    const currentAnswer = await post(current, { query: POOL_QUERY, variables: { id: current.workerPoolId } }, await login(current));
    expect(currentAnswer.json).toEqual({
      data: { workerPool: { pendingRuns: 0, workers: [{ id: 'w1', busy: false, availableAt: 100, drained: false }] } },
    });
  });
});

describe('fake Spacelift: auth', () => {
  test('everything but apiKeyUser needs a valid bearer JWT', async () => {
    const fake = await harness.fake();
    const anonymous = await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } });
    expect(anonymous).toEqual({ status: 200, json: { data: null, errors: [{ message: 'unauthorized' }] } });
    const forged = await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, 'fake-jwt.forged');
    expect(forged.json.errors[0].message).toBe('unauthorized');
    const ok = await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, await login(fake));
    expect(ok.json.data.workerPool.pendingRuns).toBe(0);
  });

  test('only the configured key gets a JWT; a wrong secret yields a null user', async () => {
    const fake = await harness.fake({ apiKeySecret: 'right' });
    const { json } = await post(fake, {
      query: 'mutation L($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt } }',
      variables: { id: fake.apiKeyId, secret: 'wrong' },
    });
    expect(json).toEqual({ data: { apiKeyUser: null } });
    expect(fake.issuedJwts()).toHaveLength(0);
  });

  test('JWTs expire after the configured TTL on the injected clock; validUntil says when', async () => {
    const fake = await harness.fake({ jwtTtlSeconds: 600 });
    const { json } = await post(fake, {
      query: 'mutation L($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }',
      variables: { id: fake.apiKeyId, secret: fake.apiKeySecret },
    });
    const { jwt, validUntil } = json.data.apiKeyUser;
    expect(validUntil).toBe(Math.floor(harness.now / 1000) + 600);
    harness.advance(599_000);
    expect((await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, jwt)).json.errors).toBeUndefined();
    harness.advance(1_000);
    expect((await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, jwt)).json.errors[0].message).toBe('unauthorized');
  });

  test('authFailure "http" answers 401; revokeAllTokens invalidates issued JWTs', async () => {
    const fake = await harness.fake({ authFailure: 'http' });
    const jwt = await login(fake);
    fake.revokeAllTokens();
    const { status } = await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, jwt);
    expect(status).toBe(401);
  });
});

describe('fake Spacelift: state', () => {
  test('workerDrainSet drains and undrains; a busy worker stays busy while drained', async () => {
    const fake = await harness.fake();
    const w = fake.addWorker({ busy: true, instanceId: 'i-0123456789abcdef0', asgName: 'asg-a' });
    expect(JSON.parse(w.metadata)).toEqual({ asg_id: 'asg-a', instance_id: 'i-0123456789abcdef0' });
    const jwt = await login(fake);
    const drainQuery = 'mutation D($p: ID!, $w: ID!, $d: Boolean!) { workerDrainSet(workerPool: $p, id: $w, drain: $d) { id busy drained } }';

    const drained = await post(fake, { query: drainQuery, variables: { p: fake.workerPoolId, w: w.id, d: true } }, jwt);
    expect(drained.json.data.workerDrainSet).toEqual({ id: w.id, busy: true, drained: true });
    expect(fake.isDrained(w.id)).toBe(true);
    expect(fake.worker(w.id)?.busy).toBe(true);

    await post(fake, { query: drainQuery, variables: { p: fake.workerPoolId, w: w.id, d: false } }, jwt);
    expect(fake.isDrained(w.id)).toBe(false);

    const missing = await post(fake, { query: drainQuery, variables: { p: fake.workerPoolId, w: 'nope', d: true } }, jwt);
    expect(missing.json.errors[0].message).toBe('could not set worker drain to true: not found');
  });

  test('the drain hook sees each change; the reply shows the state before the hook ran', async () => {
    const events: DrainEvent[] = [];
    const fake = await harness.fake();
    const w = fake.addWorker({ busy: true });
    fake.onDrain((event) => {
      events.push(event);
      fake.setBusy(event.workerId, false);
    });
    const { json } = await post(fake, {
      query: 'mutation D($p: ID!, $w: ID!) { workerDrainSet(workerPool: $p, id: $w, drain: true) { busy drained } }',
      variables: { p: fake.workerPoolId, w: w.id },
    }, await login(fake));
    expect(json.data.workerDrainSet).toEqual({ busy: true, drained: true });
    expect(events).toEqual([{ workerId: w.id, drain: true, worker: expect.objectContaining({ busy: true, drained: true }) }]);
    expect(fake.worker(w.id)).toMatchObject({ busy: false, drained: true });
  });

  test('going idle stamps availableAt; pool counters are served', async () => {
    const fake = await harness.fake();
    const w = fake.addWorker({ busy: true, createdAt: 50 });
    expect(w.availableAt).toBeNull();
    harness.advance(5_000);
    fake.setBusy(w.id, false);
    expect(fake.worker(w.id)?.availableAt).toBe(Math.floor(harness.now / 1000));
    fake.addWorker({ busy: true });
    fake.setPendingRuns(3);
    fake.setSchedulableRuns(2);
    const { json } = await post(fake, {
      query: 'query P($id: ID!) { workerPool(id: $id) { id name pendingRuns schedulableRunsCount busyWorkers } }',
      variables: { id: fake.workerPoolId },
    }, await login(fake));
    expect(json.data.workerPool).toEqual({ id: fake.workerPoolId, name: 'fake-pool', pendingRuns: 3, schedulableRunsCount: 2, busyWorkers: 1 });
    fake.removeWorker(w.id);
    expect(fake.workers()).toHaveLength(1);
  });
});

describe('fake Spacelift: faults and the operation log', () => {
  test('faults apply to the next N matching requests only, and are logged with the operation', async () => {
    const fake = await harness.fake();
    const jwt = await login(fake);
    fake.injectFault({ kind: 'http', status: 503, retryAfter: 7 }, { match: 'workerPool', times: 2 });
    const query = { query: POOL_QUERY, variables: { id: fake.workerPoolId }, operationName: 'P' };

    const first = await fetch(`${fake.endpoint}/graphql`, {
      method: 'POST', headers: { authorization: `Bearer ${jwt}` }, body: JSON.stringify(query),
    });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('7');
    await first.text();
    expect(fake.pendingFaults()).toBe(1);
    // apiKeyUser does not match, so the fault stays queued.
    await login(fake);
    expect(fake.pendingFaults()).toBe(1);
    expect((await post(fake, query, jwt)).status).toBe(503);
    expect((await post(fake, query, jwt)).status).toBe(200);

    expect(fake.count('P')).toBe(3);
    expect(fake.count('apiKeyUser')).toBe(2);
    expect(fake.operations().filter((op) => op.fault === 'http')).toHaveLength(2);
    expect(fake.operations()[0]).toMatchObject({ operationName: 'L', fields: ['apiKeyUser'], variables: { secret: '[redacted]' } });
  });

  test('malformed, graphqlError and unauthorized faults', async () => {
    const fake = await harness.fake();
    const jwt = await login(fake);
    const query = { query: POOL_QUERY, variables: { id: fake.workerPoolId } };

    fake.injectFault({ kind: 'malformed' });
    const malformed = await fetch(`${fake.endpoint}/graphql`, { method: 'POST', body: JSON.stringify(query) });
    const text = await malformed.text();
    expect(malformed.status).toBe(200);
    expect(() => JSON.parse(text)).toThrow();

    fake.injectFault({ kind: 'graphqlError', message: 'boom', status: 422 });
    expect(await post(fake, query, jwt)).toEqual({ status: 422, json: { data: null, errors: [{ message: 'boom' }] } });

    // The unauthorized fault revokes the presented token, like an expired session would.
    fake.injectFault({ kind: 'unauthorized', via: 'http' });
    expect((await post(fake, query, jwt)).status).toBe(401);
    expect((await post(fake, query, jwt)).json.errors[0].message).toBe('unauthorized');
  });

  test('a delay fault holds the reply, then answers normally', async () => {
    const fake = await harness.fake();
    const jwt = await login(fake);
    fake.injectFault({ kind: 'delay', ms: 150 });
    const started = Date.now();
    const { json } = await post(fake, { query: POOL_QUERY, variables: { id: fake.workerPoolId } }, jwt);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(json.data.workerPool.workers).toEqual([]);
  });

  test('close() does not wait for a request held by a delay fault', async () => {
    const fake = await harness.fake();
    fake.injectFault({ kind: 'delay', ms: 60_000 });
    const pending = fetch(`${fake.endpoint}/graphql`, { method: 'POST', body: JSON.stringify({ query: '{ __typename }' }) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fake.close();
    await expect(pending).rejects.toThrow();
  });
});
