/**
 * The registration handler against the fake Spacelift (schema-validated GraphQL) and a mocked Secrets Manager:
 * each event type, retries, and the message CloudFormation shows for each failure.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { keyFingerprint } from '../../lambda/registration/credentials';
import { RESET_CLAIM_FIELD } from '../../lambda/registration/handler';
import { keyFingerprintOf, keyLabel, RESERVED_LABEL_PREFIX, resourceLabel } from '../../lambda/registration/pool-labels';
import { DEFAULT_PRIVATE_KEY_KEY, DEFAULT_TOKEN_KEY } from '../../lambda/registration/properties';
import { OPENSSL, opensslSubject, publicKeyOfPrivate, sameKey, verifiedCsrKey } from './csr-check';
import { failed, LOGICAL_ID, ok, PLACEHOLDER_SECRET, props, RegistrationHarness, SECRET_ARN, STACK_ID, type Outcome } from './harness';

let h: RegistrationHarness;
beforeEach(async () => {
  h = await new RegistrationHarness().start();
});
afterEach(() => h.close());

const OWN_LABEL = resourceLabel(STACK_ID, LOGICAL_ID);

/** The private key in the secret now. */
function storedKey(): string {
  return JSON.parse(h.secretValue!)[DEFAULT_PRIVATE_KEY_KEY];
}

/**
 * What every successful event must leave: the pool's certificate request is for the stored key, the stored token is
 * the pool's current one, the pool's key label and the answered fingerprint name that key.
 */
function expectConsistent(response: { PhysicalResourceId: string; Data?: { CredentialsFingerprint: string } }): void {
  const pool = h.fake.pool(response.PhysicalResourceId)!;
  const key = storedKey();
  const csrKey = verifiedCsrKey(pool.certificateSigningRequest);
  expect(sameKey(csrKey, publicKeyOfPrivate(key))).toBe(true);
  expect(JSON.parse(h.secretValue!)[DEFAULT_TOKEN_KEY]).toBe(pool.config);
  // The fingerprint is the hash of the public key Spacelift's certificate is for, computed here from its CSR.
  expect(keyFingerprintOf(pool.labels)).toBe(spkiFingerprint(csrKey));
  expect(response.Data?.CredentialsFingerprint).toBe(spkiFingerprint(csrKey));
}

function spkiFingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
}

/** Pools other than the fake's own default pool. */
function created() {
  return h.fake.pools().filter((p) => p.id !== h.fake.workerPoolId);
}

describe('Create', () => {
  test('creates the pool with our labels, stores token and key in the secret, answers the pool id and the key fingerprint', async () => {
    const response = ok(await h.create(props({ Description: 'CI runs', Labels: ['team:ci'], Space: 'ci-space-01ABC' })));

    const [pool] = created();
    const fingerprint = keyFingerprint(h.credentials[0].privateKeyBase64);
    expect(created()).toHaveLength(1);
    expect(response).toEqual({ PhysicalResourceId: pool.id, Data: { WorkerPoolId: pool.id, CredentialsFingerprint: fingerprint } });
    expect(pool).toMatchObject({ name: 'ci-pool', description: 'CI runs', labels: ['team:ci', OWN_LABEL, keyLabel(fingerprint)], space: 'ci-space-01ABC' });
    expectConsistent(response);
    // The key first, before the pool exists; then the token next to it.
    expect(h.writes()).toEqual([
      { secretId: SECRET_ARN, value: { [DEFAULT_PRIVATE_KEY_KEY]: h.credentials[0].privateKeyBase64 } },
      { secretId: SECRET_ARN, value: { [DEFAULT_TOKEN_KEY]: pool.config, [DEFAULT_PRIVATE_KEY_KEY]: h.credentials[0].privateKeyBase64 } },
    ]);
    // The CSR Spacelift received is for the key we stored.
    expect(sameKey(verifiedCsrKey(pool.certificateSigningRequest), publicKeyOfPrivate(h.credentials[0].privateKeyBase64))).toBe(true);
    if (OPENSSL) expect(opensslSubject(pool.certificateSigningRequest)).toBe('subject=CN=workers.spacelift.io');
  });

  test('the default secret keys are the launcher variable names; TokenKey and PrivateKeyKey override them', async () => {
    expect([DEFAULT_TOKEN_KEY, DEFAULT_PRIVATE_KEY_KEY]).toEqual(['SPACELIFT_TOKEN', 'SPACELIFT_POOL_PRIVATE_KEY']);
    ok(await h.create(props({ TokenKey: 'token', PrivateKeyKey: 'privateKey' })));
    expect(Object.keys(h.writes()[1].value).sort()).toEqual(['privateKey', 'token']);
  });

  test('without Description, Labels and Space: nulls, and only our labels', async () => {
    ok(await h.create());
    expect(created()[0]).toMatchObject({ description: null, labels: [OWN_LABEL, keyLabel(keyFingerprint(h.credentials[0].privateKeyBase64))], space: 'root' });
    expect(OWN_LABEL).toMatch(new RegExp(`^${RESERVED_LABEL_PREFIX}resource=[0-9a-f]{32}$`));
  });

  test('the same Create twice makes one pool: the second adopts it with the stored key and its token, no reset', async () => {
    const first = ok(await h.create());
    const [pool] = created();
    const firstConfig = pool.config;
    const second = ok(await h.create(props({ Description: 'taken over' })));
    expect(created()[0].description).toBe('taken over');

    expect(created()).toHaveLength(1);
    expect(second).toEqual(first);
    expect(h.fake.count('workerPoolCreate')).toBe(1);
    expect(h.fake.count('workerPoolReset')).toBe(0);
    expect(h.credentials).toHaveLength(1);
    expect(created()[0].config).toBe(firstConfig);
    expect(h.writes().at(-1)!.value).toEqual({ [DEFAULT_TOKEN_KEY]: firstConfig, [DEFAULT_PRIVATE_KEY_KEY]: h.credentials[0].privateKeyBase64 });
    expectConsistent(second);
  });

  test('the stack created again under its name (new secret, placeholder value) adopts the retained pool with new credentials', async () => {
    const first = ok(await h.create());
    const before = h.fake.pool(first.PhysicalResourceId)!;
    h.stackId = STACK_ID.replace(/[^/]+$/, '0c0ffee0-1111-11ef-8000-0a1b2c3d4e5f');
    h.secretValue = PLACEHOLDER_SECRET;

    const second = ok(await h.create());
    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);

    const after = h.fake.pool(first.PhysicalResourceId)!;
    expect(created()).toHaveLength(1);
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(after.config).not.toBe(before.config);
    expect(storedKey()).toBe(h.credentials[1].privateKeyBase64);
    expectConsistent(second);
  });

  test('a stored value that is not a key is not trusted: reset', async () => {
    ok(await h.create());
    h.secretValue = JSON.stringify({ [DEFAULT_PRIVATE_KEY_KEY]: Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n').toString('base64') });
    expectConsistent(ok(await h.create()));
    expect(h.fake.count('workerPoolReset')).toBe(1);
  });

  test('a stored RSA key that the pool\'s key label does not name (another pool\'s, or a reset never confirmed) is not trusted: reset', async () => {
    ok(await h.create());
    const stranger = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    h.secretValue = JSON.stringify({ [DEFAULT_PRIVATE_KEY_KEY]: Buffer.from(stranger).toString('base64') });
    expectConsistent(ok(await h.create()));
    expect(h.fake.count('workerPoolReset')).toBe(1);
  });

  test('two pools with our label: the one whose key label names the stored key is taken over, no reset; the other is named', async () => {
    const first = ok(await h.create());
    // Older than the first (ULIDs sort by creation time), and without a key label: an attempt that raced.
    const other = h.fake.addPool({ id: '01A0000000000000000000000A', name: 'ci-pool', labels: [OWN_LABEL] }).id;

    const second = ok(await h.create());

    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(h.fake.count('workerPoolReset')).toBe(0);
    expectConsistent(second);
    const warning = h.logger.entries.find((e) => e.level === 'warn');
    expect(warning).toMatchObject({ message: expect.stringContaining('delete the others by hand'), attributes: { others: [other] } });
  });

  test('two pools with our label and no stored key: the oldest gets new credentials, the other is named', async () => {
    const newer = h.fake.addPool({ id: '01J0000000000000000000000B', name: 'ci-pool', labels: [OWN_LABEL] }).id;
    const older = h.fake.addPool({ id: '01J0000000000000000000000A', name: 'ci-pool', labels: [OWN_LABEL] }).id;

    const response = ok(await h.create());

    expect(response.PhysicalResourceId).toBe(older);
    expect(h.fake.count('workerPoolCreate')).toBe(0);
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expectConsistent(response);
    const warning = h.logger.entries.find((e) => e.level === 'warn');
    expect(warning).toMatchObject({ message: expect.stringContaining('delete the others by hand'), attributes: { workerPoolId: older, others: [newer] } });
  });

  test('a reset Spacelift applies after the client gave up leaves no key label: the next Create resets again, consistently', async () => {
    const first = ok(await h.create());
    // Answered too late: Spacelift issues a certificate for a key the secret never gets.
    h.timeoutMs = 200;
    h.fake.injectFault({ kind: 'delay', ms: 400 }, { match: 'workerPoolReset' });
    failed(await h.update(first.PhysicalResourceId, props({ ResetGeneration: '2' })));
    await h.fake.settled();
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(keyFingerprintOf(h.fake.pool(first.PhysicalResourceId)!.labels)).toBeUndefined();
    expect(storedKey()).toBe(h.credentials[0].privateKeyBase64);
    expect(sameKey(verifiedCsrKey(h.fake.pool(first.PhysicalResourceId)!.certificateSigningRequest), publicKeyOfPrivate(storedKey()))).toBe(false);

    const repeated = ok(await h.create());

    expectConsistent(repeated);
    expect(storedKey()).toBe(h.credentials[2].privateKeyBase64);
  });

  test('a reset whose token changed before its key label goes back on (another reset landed) fails and leaves no label', async () => {
    const first = ok(await h.create());
    h.apiOverride = { credentials: async (id) => ({ id, config: 'a token another reset issued' }) };

    const message = failed(await h.update(first.PhysicalResourceId, props({ ResetGeneration: '2' })));

    expect(message).toContain('the pool\'s token changed while its credentials were being reset');
    expect(keyFingerprintOf(h.fake.pool(first.PhysicalResourceId)!.labels)).toBeUndefined();
    h.apiOverride = {};
    expectConsistent(ok(await h.update(first.PhysicalResourceId, props({ ResetGeneration: '2', Description: 'retry' }), props({ ResetGeneration: '2' }))));
  });

  test('a secret that cannot be read back fails the adoption with the permission it needs', async () => {
    ok(await h.create());
    h.secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized to perform: secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
    expect(failed(await h.create())).toMatch(/^Could not take over Spacelift worker pool \w+, created earlier for this resource: the credentials could not be read back .*needs secretsmanager:GetSecretValue on this secret$/);
    expect(h.fake.count('workerPoolReset')).toBe(0);
  });

  test('a pool of another resource (other stack) is not adopted', async () => {
    h.fake.addPool({ name: 'ci-pool', labels: [resourceLabel('arn:aws:cloudformation:eu-west-1:123456789012:stack/other/1', LOGICAL_ID)] });
    ok(await h.create());
    expect(h.fake.count('workerPoolCreate')).toBe(1);
    expect(h.fake.count('workerPoolReset')).toBe(0);
  });

  test('a create that timed out but happened is found by its label on the retry: one pool', async () => {
    h.timeoutMs = 300;
    h.sleepRealMs = 600; // the backoff outlasts the server's delay, so the retry sees the pool
    h.fake.injectFault({ kind: 'delay', ms: 500 }, { match: 'workerPoolCreate' });

    const response = ok(await h.create());

    expect(created()).toHaveLength(1);
    expect(response.PhysicalResourceId).toBe(created()[0].id);
    expect(h.fake.count('workerPoolCreate')).toBe(1);
    // The key stored before the create is the one the pool's CSR came from: no reset.
    expect(h.fake.count('workerPoolReset')).toBe(0);
    expect(h.credentials).toHaveLength(1);
    const stored = { [DEFAULT_TOKEN_KEY]: created()[0].config, [DEFAULT_PRIVATE_KEY_KEY]: h.credentials[0].privateKeyBase64 };
    expect(h.writes().at(-1)!.value).toEqual(stored);
    expect(h.sleeps).toEqual([1_500]);
  });

  test('a transient failure of the create (503) is retried once after looking again', async () => {
    h.fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPoolCreate' });
    ok(await h.create());
    expect(created()).toHaveLength(1);
    expect(h.fake.count('workerPoolCreate')).toBe(2);
    // Before each attempt, and after the create (for a pool another copy of the event made).
    expect(h.fake.count('workerPools')).toBe(3);
  });

  test('a timeout on both attempts fails with a message naming the endpoint', async () => {
    h.timeoutMs = 200;
    h.fake.injectFault({ kind: 'delay', ms: 1_000 }, { match: 'workerPoolCreate', times: 2 });
    const message = failed(await h.create());
    expect(message).toMatch(/^Could not create Spacelift worker pool "ci-pool": no answer from Spacelift at http:\/\/127\.0\.0\.1:\d+\/\w+ \(/);
    expect(message).toContain('no complete response within 200 ms');
    expect(message).toContain('the deployment can be retried safely');
    expect(h.fake.count('workerPoolCreate')).toBe(2);
  });

  test('no retry when the function is nearly out of time', async () => {
    h.remainingMs = 5_000 + 2_500; // 2.5 s for Spacelift: one attempt, no room for a pause and another
    h.fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPoolCreate' });
    const message = failed(await h.create());
    expect(message).toContain('HTTP 503');
    expect(h.fake.count('workerPoolCreate')).toBe(1);
    expect(h.sleeps).toEqual([]);
  });

  test('an id from Spacelift that is not a ULID fails the create before its token is written', async () => {
    h.apiOverride = { create: async () => ({ id: 'pool-1', config: 'token' }) };
    const message = failed(await h.create());
    expect(message).toContain('Spacelift answered a worker pool id that is not a ULID ("pool-1")');
    expect(h.writes().map((w) => Object.keys(w.value))).toEqual([[DEFAULT_PRIVATE_KEY_KEY]]);
  });

  test('a secret that cannot be written fails before any pool is made, naming the secret and the permission', async () => {
    h.secrets.on(PutSecretValueCommand).rejects(Object.assign(new Error(
      'User: arn:aws:sts::123456789012:assumed-role/reg/fn is not authorized to perform: secretsmanager:PutSecretValue on resource: pool-credentials',
    ), { name: 'AccessDeniedException' }));

    const message = failed(await h.create());

    expect(message).toBe(`Could not create Spacelift worker pool "ci-pool": the credentials could not be written to secret ${SECRET_ARN}: `
      + 'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/reg/fn is not authorized to perform: secretsmanager:PutSecretValue '
      + 'on resource: pool-credentials. The function\'s role needs secretsmanager:PutSecretValue on this secret');
    expect(h.fake.count('workerPoolCreate')).toBe(0);
    expect(created()).toEqual([]);
  });

  test('a token write that fails after the create takes the new pool back', async () => {
    h.secrets.on(PutSecretValueCommand)
      .resolvesOnce({ ARN: SECRET_ARN })
      .rejects(Object.assign(new Error('Secrets Manager can\'t find the specified secret.'), { name: 'ResourceNotFoundException' }));

    expect(failed(await h.create())).toMatch(/^Could not create Spacelift worker pool "ci-pool": the pool was created, but the credentials could not be written .*The secret does not exist.*; it was deleted again$/);
    expect(h.fake.count('workerPoolCreate')).toBe(1);
    expect(created()).toEqual([]);
  });

  test('a KMS refusal says which KMS actions the role needs', async () => {
    h.secrets.on(PutSecretValueCommand).rejects(Object.assign(new Error('Access to KMS is not allowed'), { name: 'AccessDeniedException' }));
    expect(failed(await h.create())).toContain('needs kms:GenerateDataKey and kms:Decrypt on the secret\'s KMS key');
  });
});

describe('Create failures: the reason CloudFormation shows', () => {
  test('HTTP 401 on the key exchange: the API key is rejected', async () => {
    h.fake.injectFault({ kind: 'http', status: 401 }, { match: 'apiKeyUser' });
    expect(failed(await h.create())).toBe(`Could not create Spacelift worker pool "ci-pool": Spacelift rejected API key ${h.fake.apiKeyId} at ${h.fake.endpoint}: `
      + 'the key id or secret is wrong, or the key was deleted (Spacelift ApiKeyUser failed: HTTP 401 Unauthorized). '
      + 'Check SPACELIFT_API_KEY_ID and the secret SPACELIFT_API_KEY_SECRET_ARN points to');
    expect(created()).toEqual([]);
    expect(h.writes()).toEqual([]);
  });

  test('a wrong API key secret (apiKeyUser null): the same reason', async () => {
    h.apiKeySecret = 'a-wrong-secret';
    expect(failed(await h.create())).toBe(`Could not create Spacelift worker pool "ci-pool": Spacelift rejected API key ${h.fake.apiKeyId} at ${h.fake.endpoint}: `
      + `the key id or secret is wrong, or the key was deleted (Spacelift rejected API key ${h.fake.apiKeyId} (wrong id or secret, or the key was deleted)). `
      + 'Check SPACELIFT_API_KEY_ID and the secret SPACELIFT_API_KEY_SECRET_ARN points to');
    expect(created()).toEqual([]);
  });

  test('a permission error names the role the key needs on the space', async () => {
    h.fake.injectFault({ kind: 'graphqlError', message: 'unauthorized' }, { match: 'workerPoolCreate' });
    expect(failed(await h.create(props({ Space: 'team-a-01HXYZ' })))).toBe(
      `Could not create Spacelift worker pool "ci-pool": API key ${h.fake.apiKeyId} is not allowed to manage worker pools in space "team-a-01HXYZ" `
      + '(Spacelift WorkerPoolCreate failed: unauthorized). Give the key the Space Admin role on that space (an admin key), or a role with '
      + 'Space: Read and Worker pool: Create, Update and Delete, such as Spacelift\'s "Worker pool controller" system role, bound on that space',
    );
  });

  test('a name already taken says so', async () => {
    h.fake.injectFault({ kind: 'graphqlError', message: 'worker pool with name "ci-pool" already exists' }, { match: 'workerPoolCreate' });
    expect(failed(await h.create())).toBe('Could not create Spacelift worker pool "ci-pool": a worker pool named "ci-pool" already exists in Spacelift '
      + '(Spacelift WorkerPoolCreate failed: worker pool with name "ci-pool" already exists). Choose another Name, or rename or delete the existing pool');
  });

  test('bad properties name the property', async () => {
    expect(failed(await h.create(props({ Name: '' })))).toBe('custom resource property Name is required');
    expect(failed(await h.create(props({ DeletionPolicy: 'destroy' })))).toBe('custom resource property DeletionPolicy must be "retain" or "delete", got "destroy"');
    expect(failed(await h.create(props({ Labels: ['ok', ''] })))).toBe('custom resource property Labels must be a list of non-empty strings');
    expect(h.fake.operations()).toEqual([]);
  });
});

describe('Update', () => {
  async function createdId(): Promise<string> {
    return ok(await h.create(props({ Labels: ['a'] }))).PhysicalResourceId;
  }

  test('updates name, description, labels (keeping ours) and space in place; no new credentials', async () => {
    const id = await createdId();
    const config = h.fake.pool(id)!.config;

    const forged = [`${RESERVED_LABEL_PREFIX}resource=forged`, `${RESERVED_LABEL_PREFIX}key=forged`];
    const response = ok(await h.update(id, props({ Name: 'ci-pool-2', Description: 'd', Labels: ['b', ...forged], Space: 's1' }), props({ Labels: ['a'] })));

    const fingerprint = keyFingerprint(h.credentials[0].privateKeyBase64);
    expect(response).toEqual({ PhysicalResourceId: id, Data: { WorkerPoolId: id, CredentialsFingerprint: fingerprint } });
    expect(h.fake.pool(id)).toMatchObject({ name: 'ci-pool-2', description: 'd', labels: ['b', OWN_LABEL, keyLabel(fingerprint)], space: 's1', config });
    expectConsistent(response);
    expect(h.fake.count('workerPoolReset')).toBe(0);
    expect(h.writes()).toHaveLength(2);
  });

  test('a new ResetGeneration rotates the credentials: new CSR, new token, new key in the secret', async () => {
    const id = await createdId();
    const before = h.fake.pool(id)!;

    const response = ok(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'], ResetGeneration: '1' })));

    expectConsistent(response);
    expect(response.Data!.CredentialsFingerprint).not.toBe(keyFingerprint(h.credentials[0].privateKeyBase64));
    const after = h.fake.pool(id)!;
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(after.config).not.toBe(before.config);
    expect(after.certificateSigningRequest).not.toBe(before.certificateSigningRequest);
    // The writes: the Create's key, its token and key, the reset's claim (the old token and key kept), the reset's token and key.
    expect(h.writes()[2].value).toEqual({ ...h.writes()[1].value, [RESET_CLAIM_FIELD]: expect.any(String) });
    expect(h.writes()[3].value).toEqual({ [DEFAULT_TOKEN_KEY]: after.config, [DEFAULT_PRIVATE_KEY_KEY]: h.credentials[1].privateKeyBase64 });
  });

  test('an Update of a pool without a key label (a reset that failed midway) resets, whatever changed', async () => {
    const id = await createdId();
    h.fake.setPoolLabels(id, ['a', OWN_LABEL]);

    const response = ok(await h.update(id, props({ Labels: ['a'], Description: 'x' }), props({ Labels: ['a'] })));

    expect(h.fake.count('workerPoolReset')).toBe(1);
    expectConsistent(response);
  });

  test('the rollback of a failed reset (UPDATE_ROLLBACK) resets again and ends consistent', async () => {
    const id = await createdId();
    h.failPlainWrites = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    failed(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] })));
    h.failPlainWrites = undefined;

    const rollback = ok(await h.update(id, props({ Labels: ['a'] }), props({ Labels: ['a'], ResetGeneration: '2' })));

    expect(h.fake.count('workerPoolReset')).toBe(2);
    expectConsistent(rollback);
  });

  test('the rollback of an Update that failed on a bad property (a blank Name) succeeds without a reset', async () => {
    const id = await createdId();
    failed(await h.update(id, props({ Labels: ['a'], Name: ' ' }), props({ Labels: ['a'] })));

    const rollback = ok(await h.update(id, props({ Labels: ['a'] }), props({ Labels: ['a'], Name: ' ' })));

    expect(h.fake.count('workerPoolReset')).toBe(0);
    expectConsistent(rollback);
  });

  test('the same ResetGeneration does not rotate', async () => {
    const id = await createdId();
    ok(await h.update(id, props({ Labels: ['a'], ResetGeneration: '1', Description: 'x' }), props({ Labels: ['a'], ResetGeneration: '1' })));
    expect(h.fake.count('workerPoolReset')).toBe(0);
  });

  test('a reset whose secret write failed leaves no key label: the next Update resets again, whatever changed', async () => {
    const id = await createdId();
    h.failPlainWrites = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    failed(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] })));
    expect(keyFingerprintOf(h.fake.pool(id)!.labels)).toBeUndefined();
    h.failPlainWrites = undefined;

    const next = ok(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2', Description: 'x' }), props({ Labels: ['a'], ResetGeneration: '2' })));

    expect(h.fake.count('workerPoolReset')).toBe(2);
    expectConsistent(next);
  });

  test('a secret that no longer holds the pool\'s current token (two copies of one event crossed their writes) is healed by the next Update', async () => {
    const id = await createdId();
    h.secretValue = JSON.stringify({ [DEFAULT_TOKEN_KEY]: 'an older token', [DEFAULT_PRIVATE_KEY_KEY]: storedKey() });

    const next = ok(await h.update(id, props({ Labels: ['a'], Description: 'x' }), props({ Labels: ['a'] })));

    expect(h.fake.count('workerPoolReset')).toBe(1);
    expectConsistent(next);
    expect(h.logger.entries.map((e) => e.message)).toContain('the secret does not hold the pool\'s current credentials: resetting them');
  });

  test('a reset Spacelift refuses unprocessed (503) is retried once; twice refused, the message says retrying is safe', async () => {
    const id = await createdId();
    h.fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPoolReset' });
    expectConsistent(ok(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] }))));
    expect(h.fake.count('workerPoolReset')).toBe(2);

    h.fake.injectFault({ kind: 'http', status: 503 }, { match: 'workerPoolReset', times: 2 });
    expect(failed(await h.update(id, props({ Labels: ['a'], ResetGeneration: '3' }), props({ Labels: ['a'], ResetGeneration: '2' }))))
      .toMatch(/^Could not reset the credentials of Spacelift worker pool \w+: Spacelift at http:\/\/127\.0\.0\.1:\d+\/\w+ is unavailable or throttling \(.*HTTP 503.*\); the deployment can be retried safely$/);
    expect(h.fake.count('workerPoolReset')).toBe(4);
  });

  test('new secret key names get fresh credentials written under them', async () => {
    const id = await createdId();
    const response = ok(await h.update(id, props({ Labels: ['a'], TokenKey: 'token', PrivateKeyKey: 'key' }), props({ Labels: ['a'] })));
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(Object.keys(JSON.parse(h.secretValue!)).sort()).toEqual(['key', 'token']);
    expect(response.Data!.CredentialsFingerprint).toBe(keyFingerprint(h.credentials[1].privateKeyBase64));
  });

  test('a new secret gets fresh credentials written to it', async () => {
    const id = await createdId();
    const newSecret = `${SECRET_ARN}2`;
    ok(await h.update(id, props({ Labels: ['a'], SecretArn: newSecret }), props({ Labels: ['a'] })));
    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(h.writes()[2].secretId).toBe(newSecret);
  });

  test('a pool deleted outside CloudFormation fails with a clear message', async () => {
    const id = await createdId();
    h.fake.clearOperations();
    ok(await h.delete(id));
    expect(failed(await h.update(id, props({ Name: 'x' }))))
      .toBe(`Could not update Spacelift worker pool ${id}: Spacelift has no such pool (deleted outside CloudFormation?). `
        + 'Remove the resource from the stack and add it again to create a new pool');
  });

  test('a reset whose secret write fails says what state the pool is in', async () => {
    const id = await createdId();
    h.failPlainWrites = Object.assign(new Error('Secrets Manager can\'t find the specified secret.'), { name: 'ResourceNotFoundException' });
    expect(failed(await h.update(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] }))))
      .toMatch(/^Could not reset the credentials of Spacelift worker pool \w+: the pool's credentials were reset, but the credentials could not be written .* ResourceNotFoundException: .*The secret does not exist.*the retry resets them again\)$/);
  });
});

// CloudFormation invokes the provider asynchronously, and an asynchronous event may arrive twice; the provider
// framework also invokes the function again after an error of its first invoke call. Both copies carry one RequestId.
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
describe('two copies of one event', () => {
  test('a Create delivered twice at once makes one pool, and both copies answer it', async () => {
    const event = h.createEvent(props({ Labels: ['a'] }));
    const [first, second] = (await Promise.all([h.send(event), h.send(event)])).map(ok);

    expect(second).toEqual(first);
    expect(created().map((p) => p.id)).toEqual([first.PhysicalResourceId]);
    expectConsistent(first);
  });

  test('a Create retried after an attempt that stored its key and failed creates the pool for that key', async () => {
    const event = h.createEvent(props({ Labels: ['a'] }));
    h.fake.injectFault({ kind: 'http', status: 500 }, { match: 'workerPoolCreate', times: 2 });
    failed(await h.send(event));

    const response = ok(await h.send(event));

    expect(storedKey()).toBe(h.credentials[0].privateKeyBase64);
    expect(created()).toHaveLength(1);
    expectConsistent(response);
  });

  // A slow reset, and a slow first call of the claiming copy (taking the key label off): until that call, the old key
  // label and the old token in the secret look consistent to the waiting copy, which must not answer them.
  test.each(['workerPoolReset', 'workerPoolUpdate'])(
    'an Update with a new ResetGeneration delivered twice at once resets once, and both copies answer its key (slow %s)',
    async (slow) => {
      const id = ok(await h.create(props({ Labels: ['a'] }))).PhysicalResourceId;
      h.fake.injectFault({ kind: 'delay', ms: 400 }, { match: slow });
      const event = h.updateEvent(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] }));
      const [first, second] = (await Promise.all([h.send(event), h.send(event)])).map(ok);

      expect(h.fake.count('workerPoolReset')).toBe(1);
      expect(second).toEqual(first);
      expectConsistent(first);
      expect(h.output([]).includes('another copy of this event claimed the reset')).toBe(true);
    });

  test('an Update delivered again after the first copy finished answers the same key without a second reset', async () => {
    const id = ok(await h.create(props({ Labels: ['a'] }))).PhysicalResourceId;
    const event = h.updateEvent(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] }));
    const first = ok(await h.send(event));

    const again = ok(await h.send(event));

    expect(h.fake.count('workerPoolReset')).toBe(1);
    expect(again).toEqual(first);
    expectConsistent(again);
  });

  test('a copy that waits for another copy\'s reset that never finishes fails once its time runs out, without a reset of its own', async () => {
    const id = ok(await h.create(props({ Labels: ['a'] }))).PhysicalResourceId;
    const event = h.updateEvent(id, props({ Labels: ['a'], ResetGeneration: '2' }), props({ Labels: ['a'] }));
    // The first copy claims the reset, and dies before its final write (the pool keeps no key label).
    h.failPlainWrites = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    failed(await h.send(event));
    h.failPlainWrites = undefined;
    h.remainingMs = 20_000;
    h.sleepsUseRemainingTime = true;

    expect(failed(await h.send(event))).toBe(`Could not reset the credentials of Spacelift worker pool ${id}: another copy of this event `
      + 'claimed the reset and has not finished it; retry the deployment');
    expect(h.fake.count('workerPoolReset')).toBe(1);
  });
});
describe('Delete', () => {
  async function createdId(): Promise<string> {
    return ok(await h.create()).PhysicalResourceId;
  }

  test('retain (the default): the pool stays and Spacelift is not called', async () => {
    const id = await createdId();
    h.fake.clearOperations();
    expect(ok(await h.delete(id, props()))).toEqual({ PhysicalResourceId: id });
    expect(h.fake.pool(id)).toBeDefined();
    expect(h.fake.operations()).toEqual([]);
  });

  test('delete: the pool is deleted', async () => {
    const id = await createdId();
    h.fake.addWorker({ workerPool: id, busy: false });
    ok(await h.delete(id));
    expect(h.fake.pool(id)).toBeUndefined();
  });

  test('busy workers stop the deletion with their count', async () => {
    const id = await createdId();
    h.fake.addWorker({ workerPool: id, busy: true });
    h.fake.addWorker({ workerPool: id, busy: true });
    h.fake.addWorker({ workerPool: id, busy: false });
    // A busy worker of another pool does not count.
    h.fake.addWorker({ busy: true });

    expect(failed(await h.delete(id))).toBe(`Could not delete Spacelift worker pool ${id}: 2 workers are busy; deleting the pool now would kill their runs. `
      + 'Let the runs finish (or drain the pool) and retry the deletion, or set the deletion policy to retain');
    expect(h.fake.pool(id)).toBeDefined();
    expect(h.fake.count('workerPoolDelete')).toBe(0);
  });

  test('a pool that no longer exists: success', async () => {
    const id = await createdId();
    ok(await h.delete(id));
    ok(await h.delete(id));
    expect(h.fake.count('workerPoolDelete')).toBe(1);
  });

  test('a pool that disappears between the check and the delete: success', async () => {
    const id = await createdId();
    h.fake.injectFault({ kind: 'graphqlError', message: `worker pool ${id} not found` }, { match: 'workerPoolDelete' });
    ok(await h.delete(id));
  });

  test('a Create that never succeeded (the framework placeholder, even with bad properties): success, no call', async () => {
    ok(await h.delete('AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID', { Name: '' }));
    expect(h.fake.operations()).toEqual([]);
  });

  test('a pool without this resource\'s label is left in place', async () => {
    const id = h.fake.addPool({ name: 'someone-elses' }).id;
    ok(await h.delete(id));
    expect(h.fake.pool(id)).toBeDefined();
    expect(h.logger.entries.map((e) => e.message)).toContain('the Spacelift worker pool does not carry this resource\'s label; it is left in place');
  });

  test('a permission error on delete names the role', async () => {
    const id = await createdId();
    h.fake.injectFault({ kind: 'graphqlError', message: 'forbidden' }, { match: 'workerPoolDelete' });
    expect(failed(await h.delete(id))).toContain(`Could not delete Spacelift worker pool ${id}: API key ${h.fake.apiKeyId} is not allowed to manage worker pools in space "root"`);
  });
});

describe('no secret material leaves the handler', () => {
  test('not in Data, log lines or error messages, even when Spacelift echoes a CSR or key back', async () => {
    const outcomes: Outcome[] = [];
    outcomes.push(await h.create());
    const id = outcomes[0].response!.PhysicalResourceId;
    outcomes.push(await h.create());
    outcomes.push(await h.update(id, props({ ResetGeneration: '2' })));
    // An error that quotes a CSR-like PEM block and a long base64 blob.
    const blob = Buffer.alloc(300, 0xab).toString('base64');
    h.fake.injectFault({ kind: 'graphqlError', message: `invalid CSR -----BEGIN CERTIFICATE REQUEST-----\n${blob}\n-----END CERTIFICATE REQUEST----- (${blob})` },
      { match: 'workerPoolReset' });
    outcomes.push(await h.update(id, props({ ResetGeneration: '3' })));
    h.timeoutMs = 200;
    h.fake.injectFault({ kind: 'delay', ms: 1_000 }, { match: 'workerPoolReset', times: 2 });
    outcomes.push(await h.update(id, props({ ResetGeneration: '4' })));
    h.fake.injectFault({ kind: 'http', status: 401 }, { match: 'apiKeyUser' });
    outcomes.push(await h.create());

    // The pool id and a hash of the public key only.
    for (const o of outcomes.filter((x) => x.response)) {
      expect(Object.keys(o.response!.Data ?? {})).toEqual(['WorkerPoolId', 'CredentialsFingerprint']);
      expect(o.response!.Data!.CredentialsFingerprint).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(outcomes.filter((o) => o.error)).toHaveLength(3);
    const output = h.output(outcomes);
    expect(output).not.toContain(blob);
    expect(output).not.toContain('BEGIN');
    const secrets = [
      ...h.fake.pools().map((p) => p.config),
      ...h.writes().flatMap((w) => w.value[DEFAULT_TOKEN_KEY] ?? []),
      ...h.credentials.flatMap((c) => [c.privateKeyBase64, c.csrBase64, ...pemBodyLines(c.privateKeyBase64), ...pemBodyLines(c.csrBase64)]),
      ...h.fake.issuedJwts(),
      h.fake.apiKeySecret,
      h.fake.configMarker,
    ];
    expect(h.credentials.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) expect(output).not.toContain(secret);
  });
});

/** The base64 lines of the PEM inside a base64 value: any one of them in a log would leak part of the key. */
function pemBodyLines(base64Pem: string): string[] {
  return Buffer.from(base64Pem, 'base64').toString('utf8').split('\n').filter((line) => line.length === 64);
}
