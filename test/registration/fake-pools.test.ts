/**
 * The fake Spacelift's worker pool management, over raw HTTP: the handler tests can trust what it answers.
 */
import { generateWorkerPoolCredentials } from '../../lambda/registration/credentials';
import { FakeSpacelift } from '../support/fake-spacelift';

let fake: FakeSpacelift;
beforeEach(async () => {
  fake = await FakeSpacelift.start();
});
afterEach(() => fake.close());

const CSR = generateWorkerPoolCredentials(1024).csrBase64;

async function post(body: unknown, jwt?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${fake.endpoint}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: JSON.parse(await res.text()) };
}

async function login(): Promise<string> {
  const { json } = await post({
    query: 'mutation L($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }',
    variables: { id: fake.apiKeyId, secret: fake.apiKeySecret },
  });
  return json.data.apiKeyUser.jwt;
}

const CREATE = 'mutation C($name: String!, $csr: String!, $description: String, $labels: [String!], $space: ID) '
  + '{ workerPoolCreate(name: $name, certificateSigningRequest: $csr, description: $description, labels: $labels, space: $space) '
  + '{ id name description labels space config } }';

describe('fake Spacelift: worker pool management', () => {
  test('create, list, update, reset and delete change the state they report', async () => {
    const jwt = await login();
    const created = (await post({ query: CREATE, variables: { name: 'p', csr: CSR, labels: ['x'] } }, jwt)).json.data.workerPoolCreate;
    expect(created).toMatchObject({ name: 'p', description: null, labels: ['x'], space: 'root' });
    expect(created.id).toMatch(/^[0-9A-Z]{26}$/);
    expect(Buffer.from(created.config, 'base64').toString()).toContain(fake.configMarker);
    expect(fake.pool(created.id)).toMatchObject({ certificateSigningRequest: CSR, config: created.config });

    const list = (await post({ query: '{ workerPools { id name labels } }' }, jwt)).json.data.workerPools;
    expect(list).toEqual([
      { id: fake.workerPoolId, name: 'fake-pool', labels: [] },
      { id: created.id, name: 'p', labels: ['x'] },
    ]);

    const updated = await post({
      query: 'mutation U($id: ID!, $name: String!, $labels: [String!], $space: ID) { workerPoolUpdate(id: $id, name: $name, labels: $labels, space: $space) { name labels space config } }',
      variables: { id: created.id, name: 'q', labels: ['y'], space: 's' },
    }, jwt);
    expect(updated.json.data.workerPoolUpdate).toEqual({ name: 'q', labels: ['y'], space: 's', config: created.config });

    const reset = await post({
      query: 'mutation R($id: ID!, $csr: String!) { workerPoolReset(id: $id, certificateSigningRequest: $csr) { config } }',
      variables: { id: created.id, csr: CSR },
    }, jwt);
    expect(reset.json.data.workerPoolReset.config).not.toBe(created.config);

    fake.addWorker({ workerPool: created.id, busy: true });
    const pool = await post({ query: 'query P($id: ID!) { workerPool(id: $id) { busyWorkers workers { busy } } }', variables: { id: created.id } }, jwt);
    expect(pool.json.data.workerPool).toEqual({ busyWorkers: 1, workers: [{ busy: true }] });
    // The default pool does not see the other pool's worker.
    const own = await post({ query: 'query P($id: ID!) { workerPool(id: $id) { workers { id } } }', variables: { id: fake.workerPoolId } }, jwt);
    expect(own.json.data.workerPool.workers).toEqual([]);

    const deleted = await post({ query: 'mutation D($id: ID!) { workerPoolDelete(id: $id) { id } }', variables: { id: created.id } }, jwt);
    expect(deleted.json.data.workerPoolDelete).toEqual({ id: created.id });
    expect(fake.pool(created.id)).toBeUndefined();
    expect(fake.workers()).toEqual([]);

    const again = await post({ query: 'mutation D($id: ID!) { workerPoolDelete(id: $id) { id } }', variables: { id: created.id } }, jwt);
    expect(again.json.errors[0].message).toBe(`worker pool ${created.id} not found`);
    const gone = await post({ query: 'query P($id: ID!) { workerPool(id: $id) { id } }', variables: { id: created.id } }, jwt);
    expect(gone.json.data.workerPool).toBeNull();
  });

  test('the schema validates the new operations: wrong argument types and unknown fields are rejected', async () => {
    const jwt = await login();
    const typed = await post({ query: 'mutation C($labels: String) { workerPoolCreate(name: "n", certificateSigningRequest: "c", labels: $labels) { id } }' }, jwt);
    expect(typed.json.errors[0].message).toMatch(/Variable "\$labels" of type "String" used in position expecting type "\[String!\]"/);
    const missing = await post({ query: 'mutation { workerPoolCreate(name: "n") { id } }' }, jwt);
    expect(missing.json.errors[0].message).toMatch(/argument "certificateSigningRequest" of type "String!" is required/);
    const field = await post({ query: '{ workerPools { id privateKey } }' }, jwt);
    expect(field.json.errors[0].message).toBe('Cannot query field "privateKey" on type "WorkerPool".');
    expect(fake.pools()).toHaveLength(1);
  });

  test('a CSR that is not base64 of a PEM CERTIFICATE REQUEST is refused and no pool is made', async () => {
    const jwt = await login();
    const raw = Buffer.from(CSR, 'base64').toString();
    for (const csr of [raw, Buffer.from('hello').toString('base64')]) {
      const { json } = await post({ query: CREATE, variables: { name: 'p', csr } }, jwt);
      expect(json.errors[0].message).toBe('invalid certificate signing request: expected base64 of a PEM CERTIFICATE REQUEST');
    }
    expect(fake.pools()).toHaveLength(1);
  });

  test('mutations need a valid JWT; an anonymous query sees no pools', async () => {
    const denied = await post({ query: CREATE, variables: { name: 'p', csr: CSR } });
    expect(denied.json.errors[0].message).toBe('unauthorized');
    const anonymous = await FakeSpacelift.start({ authFailure: 'anonymous' });
    try {
      const res = await fetch(`${anonymous.endpoint}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ workerPools { id } }' }),
      });
      expect(await res.json()).toEqual({ data: { workerPools: [] } });
    } finally {
      await anonymous.close();
    }
  });

  test('faults match the new operations by name or root field', async () => {
    const jwt = await login();
    fake.injectFault({ kind: 'graphqlError', message: 'name taken' }, { match: 'workerPoolCreate' });
    const { json } = await post({ query: CREATE, variables: { name: 'p', csr: CSR } }, jwt);
    expect(json).toEqual({ data: null, errors: [{ message: 'name taken' }] });
    expect(fake.pools()).toHaveLength(1);
    expect(fake.pendingFaults()).toBe(0);
  });
});
