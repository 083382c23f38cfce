/**
 * The custom resource's onEvent handler (aws-cdk-lib custom-resources Provider framework): creates, updates,
 * rotates and deletes the Spacelift worker pool, and writes its token and private key into the pool's secret.
 * The framework turns a throw into a FAILED response whose reason is the error message; the response data is the
 * pool id and the fingerprint of the stored key's public half (pool-labels.ts). Nothing secret is logged, returned or
 * put in an error message.
 */
import { createHash, createPrivateKey, randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { WORKER_POOL_ID } from '../shared/pool-id';
import type { SpaceliftLogger } from '../spacelift/http';
import { credentialsForKey, keyFingerprint, type WorkerPoolCredentials } from './credentials';
import { explain, isPoolNotFound, RegistrationError, type FailureContext } from './failures';
import type { PoolInput, PoolSummary } from './operations';
import { keyFingerprintOf, resourceLabel, withOwnLabels } from './pool-labels';
import type { PoolManagementApi } from './pools';
import { parseProperties, PropertyError, type RegistrationProperties } from './properties';
import { MIN_ATTEMPT_MS, pauseBeforeRetry, type RetryPolicy } from './retry';
import type { SecretStore, WriteOutcome } from './secret';

export interface RegistrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly WorkerPoolId: string; readonly CredentialsFingerprint: string };
}

/** The pool, and the fingerprint of the key now stored for it (credentials.ts `keyFingerprint`). */
interface Registered {
  readonly id: string;
  readonly fingerprint: string;
}

export interface RegistrationDeps {
  /** A Spacelift client for one event, bounded by that event's retry policy (its remaining time). */
  readonly connect: (retry: RetryPolicy) => PoolManagementApi;
  readonly secret: SecretStore;
  readonly newCredentials: () => WorkerPoolCredentials;
  readonly logger: SpaceliftLogger;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** For error messages. */
  readonly apiKeyId: string;
  readonly endpoint: string;
}

interface Prepared {
  readonly api: PoolManagementApi;
  readonly props: RegistrationProperties;
  /** The resource label (pool-labels.ts). */
  readonly label: string;
  /** Name, description, space and labels: the user's, the resource label, and the key label of `fingerprint` if given. */
  readonly input: (fingerprint?: string) => PoolInput;
  readonly ctx: FailureContext;
  readonly retry: RetryPolicy;
  /**
   * A secret version token (ClientRequestToken) for one step of this event: every copy of the event (CloudFormation
   * invokes asynchronously, and an asynchronous event may arrive twice) derives the same one, so the first copy's
   * write under it wins and the others find out (secret.ts `WriteOutcome`).
   */
  readonly versionToken: (step: 'create-key' | 'reset') => string;
}

// Kept back from the Lambda timeout for the secret write and the response to the framework.
const RESERVE_MS = 5_000;
// How often a copy of an event that another copy is resetting looks whether that copy is done.
const OTHER_COPY_POLL_MS = 2_000;
/** A field the claim of a reset adds to the secret's value (next to the token and key, which it keeps). */
export const RESET_CLAIM_FIELD = 'cdk-ec2-workerpool:reset-claim';
// Pool ids are ULIDs (shared/pool-id.ts): anything else (the framework's placeholder after a failed Create) names no pool.

export function createRegistrationHandler(deps: RegistrationDeps) {
  const { logger } = deps;

  return async function onEvent(event: CloudFormationCustomResourceEvent, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<RegistrationResponse> {
    const physicalResourceId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
    logger.info('worker pool registration event', {
      requestType: event.RequestType,
      logicalResourceId: event.LogicalResourceId,
      physicalResourceId,
    });
    const retry: RetryPolicy = {
      remainingMs: () => context.getRemainingTimeInMillis() - RESERVE_MS,
      sleep: deps.sleep,
      random: deps.random,
      logger,
    };
    try {
      switch (event.RequestType) {
        case 'Create':
          return answer(await create(prepare(event, retry), retry));
        case 'Update': {
          const prepared = prepare(event, retry);
          return answer(await update(prepared, event.PhysicalResourceId, readOldProperties(event.OldResourceProperties)));
        }
        case 'Delete':
          // A Create that failed before making a pool (even on bad properties) leaves the framework's placeholder.
          if (WORKER_POOL_ID.test(event.PhysicalResourceId)) await remove(prepare(event, retry), event.PhysicalResourceId);
          else logger.info('no worker pool was created for this resource: nothing to delete', { physicalResourceId });
          return { PhysicalResourceId: event.PhysicalResourceId };
      }
    } catch (err) {
      const failure = err instanceof RegistrationError ? err : new RegistrationError(err instanceof Error ? err.message : String(err));
      logger.error('worker pool registration failed', { requestType: event.RequestType, physicalResourceId, error: failure.message });
      throw failure;
    }
  };

  function prepare(event: CloudFormationCustomResourceEvent, retry: RetryPolicy): Prepared {
    const props = parseProperties(event.ResourceProperties);
    const label = resourceLabel(event.StackId, event.LogicalResourceId);
    return {
      api: deps.connect(retry),
      props,
      label,
      input: (fingerprint) => ({
        name: props.name,
        description: props.description,
        labels: withOwnLabels(props.labels, label, fingerprint),
        space: props.space,
      }),
      ctx: { apiKeyId: deps.apiKeyId, endpoint: deps.endpoint, space: props.space, name: props.name },
      retry,
      versionToken: (step) => createHash('sha256').update(`${event.RequestId}:${step}`).digest('hex'),
    };
  }

  async function create(prepared: Prepared, retry: RetryPolicy): Promise<Registered> {
    const { api, props, input, ctx } = prepared;
    const step = `Could not create Spacelift worker pool "${props.name}"`;
    let credentials: WorkerPoolCredentials | undefined;
    for (let attempt = 1; ; attempt++) {
      // A repeated Create, or a create that timed out but happened, left a pool with our label: take it over.
      const own = await guard(step, ctx, () => ownPools(api, prepared.label));
      if (own.length > 0) return adopt(prepared, own);
      // Stored before the pool exists: if this attempt dies after Spacelift made the pool, the next one finds the
      // key the pool's certificate was issued for (the pool carries its key label), and takes it over with no reset.
      credentials ??= await keyOfThisEvent(prepared, step);
      const fingerprint = keyFingerprint(credentials.privateKeyBase64);
      let created: { id: string; config: string };
      try {
        created = await api.create(input(fingerprint), credentials.csrBase64);
      } catch (err) {
        // Only a timeout or a transient error is worth a second look, once, and only with time left for it.
        if (attempt > 1 || await pauseBeforeRetry(retry, 'WorkerPoolCreate', err) !== 'retry') throw explain(step, err, ctx);
        continue;
      }
      if (!WORKER_POOL_ID.test(created.id)) {
        throw new RegistrationError(`create: Spacelift answered a worker pool id that is not a ULID (${JSON.stringify(created.id)})`);
      }
      logger.info('created Spacelift worker pool', { workerPoolId: created.id, credentialsFingerprint: fingerprint });
      // Another copy of this event may have created one too, with the same key: the oldest pool stays, and each copy
      // deletes the pool it made if that is not the oldest. Both then answer the same pool.
      const pools = await guard(step, ctx, () => ownPools(api, prepared.label));
      if (pools.length > 0 && pools[0].id !== created.id) {
        const extra = await api.delete(created.id).then(() => 'deleted', () => 'left in Spacelift: delete it by hand');
        logger.warn('another copy of this event created a pool first: taking that one over', {
          workerPoolId: pools[0].id, extraPool: created.id, extraPoolIs: extra,
        });
        return adopt(prepared, pools.filter((pool) => pool.id !== created.id));
      }
      try {
        await deps.secret.write(props.secretArn, secretString(props, created.config, credentials.privateKeyBase64));
      } catch (err) {
        // The pool is useless without its token stored, and nothing runs on it yet: take it back so the next attempt
        // starts clean rather than from a half-written secret.
        const cleanup = await api.delete(created.id).then(() => 'it was deleted again', () => `it (${created.id}) is left in Spacelift; delete it by hand`);
        throw new RegistrationError(`${step}: the pool was created, but ${messageOf(err)}; ${cleanup}`);
      }
      return { id: created.id, fingerprint };
    }
  }

  /**
   * A new key for the pool a Create makes, written to the secret under this event's version token; when another copy
   * of the event wrote first, its key instead, so that both copies ask Spacelift for a certificate of one key.
   */
  async function keyOfThisEvent({ props, versionToken }: Prepared, step: string): Promise<WorkerPoolCredentials> {
    const fresh = deps.newCredentials();
    const token = versionToken('create-key');
    if (await writeOrFail(step, props, secretString(props, undefined, fresh.privateKeyBase64), token) === 'written') return fresh;
    const stored = parseStored(props, await readOrFail(step, props, token)).privateKeyBase64;
    if (stored === undefined) {
      throw new RegistrationError(`${step}: another copy of this event stored a key that cannot be read back; retry the deployment`);
    }
    logger.info('another copy of this event stored its key first: creating the pool for that key', { credentialsFingerprint: keyFingerprint(stored) });
    return credentialsForKey(stored);
  }

  /**
   * Takes over a pool made earlier for this resource. When the secret holds a key and a pool carries that key's
   * label, the pool's certificate was issued for it: only the token is fetched again, no reset. Otherwise (the stack
   * was created again, with a new secret, after a failed first deploy or a deletion that retained the pool; or a
   * reset was never confirmed) the oldest pool gets new credentials. Other pools with our label (attempts that
   * raced) are named for deletion by hand.
   */
  async function adopt(prepared: Prepared, own: readonly PoolSummary[]): Promise<Registered> {
    const { api, props, input, ctx } = prepared;
    const stored = parseStored(props, await readOrFail(`Could not take over Spacelift worker pool ${own[0].id}, created earlier for this resource`, props))
      .privateKeyBase64;
    const fingerprint = stored === undefined ? undefined : keyFingerprint(stored);
    const match = fingerprint === undefined ? undefined : own.find((pool) => keyFingerprintOf(pool.labels) === fingerprint);
    const id = (match ?? own[0]).id;
    const step = `Could not take over Spacelift worker pool ${id}, created earlier for this resource`;
    const others = own.map((pool) => pool.id).filter((other) => other !== id);
    if (others.length > 0) {
      logger.warn('more than one Spacelift worker pool carries this resource\'s label: delete the others by hand', { workerPoolId: id, others });
    }
    logger.info('taking over the worker pool made earlier for this resource', { workerPoolId: id, storedKeyMatches: match !== undefined });
    if (match === undefined || stored === undefined || fingerprint === undefined) return { id, fingerprint: await rotate(prepared, id, step) };
    await guard(step, ctx, () => api.update(id, input(fingerprint)));
    const current = await guard(step, ctx, () => api.credentials(id));
    if (current === undefined) throw new RegistrationError(`${step}: the pool disappeared from Spacelift while being taken over; retry the deployment`);
    await writeOrFail(step, props, secretString(props, current.config, stored));
    logger.info('stored the pool\'s token next to the key it was created with', { workerPoolId: id });
    return { id, fingerprint };
  }

  /**
   * The old properties, or undefined when they do not parse: the rollback of an Update that failed on its new
   * properties (a blank `Name` from a parameter, say) sends those as the old ones, and failing on them again would
   * leave the stack in UPDATE_ROLLBACK_FAILED.
   */
  function readOldProperties(raw: unknown): RegistrationProperties | undefined {
    try {
      return parseProperties(raw);
    } catch (err) {
      if (!(err instanceof PropertyError)) throw err;
      logger.warn('the old properties do not parse (the rollback of an Update that failed on them?): comparing nothing', { error: err.message });
      return undefined;
    }
  }

  async function update(prepared: Prepared, id: string, old: RegistrationProperties | undefined): Promise<Registered> {
    const { api, props, input, ctx } = prepared;
    const step = `Could not update Spacelift worker pool ${id}`;
    if (!WORKER_POOL_ID.test(id)) throw new RegistrationError(`${step}: the physical id is not a Spacelift worker pool id`);
    const pool = await guard(step, ctx, () => api.get(id));
    if (pool === undefined) {
      throw new RegistrationError(`${step}: Spacelift has no such pool (deleted outside CloudFormation?). `
        + 'Remove the resource from the stack and add it again to create a new pool');
    }
    const current = keyFingerprintOf(pool.labels);
    const resetStep = `Could not reset the credentials of Spacelift worker pool ${id}`;
    // A new generation asks for new credentials; a different secret or key names need them written there. Unknown old
    // properties ask for nothing: the check below still resets when the secret does not hold the pool's credentials.
    const rotateNow = old !== undefined && (props.resetGeneration !== old.resetGeneration
      || props.secretArn !== old.secretArn
      || props.tokenKey !== old.tokenKey
      || props.privateKeyKey !== old.privateKeyKey);
    if (rotateNow) return { id, fingerprint: await rotate(prepared, id, resetStep) };
    // Otherwise the secret must still hold the pool's current token and the key its label names: a pool without a key
    // label is mid-reset (one that failed), and two copies of one event running at once may have crossed their writes.
    if (current === undefined || !(await holdsCurrentCredentials(prepared, id, current, step))) {
      logger.warn('the secret does not hold the pool\'s current credentials: resetting them', { workerPoolId: id });
      return { id, fingerprint: await rotate(prepared, id, resetStep) };
    }
    await guard(step, ctx, () => api.update(id, input(current)));
    logger.info('updated Spacelift worker pool', { workerPoolId: id });
    return { id, fingerprint: current };
  }

  /**
   * New credentials for the pool (workerPoolReset with a new CSR). Its key label comes off first and goes back on,
   * for the new key, only once the reset's token and key are stored: if anything in between fails, or the reset
   * happens but its answer is lost, the pool carries no key label and the next attempt resets again.
   */
  async function rotate(prepared: Prepared, id: string, step: string): Promise<string> {
    const { api, props, input, ctx, versionToken } = prepared;
    // One copy of an event resets: two would each invalidate the other's token, and the one that checked first could
    // answer success for credentials the other's reset had just replaced. The claim keeps the stored token and key.
    const claim = withField(await readOrFail(step, props), RESET_CLAIM_FIELD, randomUUID());
    if (await writeOrFail(step, props, claim, versionToken('reset')) === 'taken') return resetByOtherCopy(prepared, id, step);
    const credentials = deps.newCredentials();
    const fingerprint = keyFingerprint(credentials.privateKeyBase64);
    await guard(step, ctx, () => api.update(id, input()));
    const reset = await guard(step, ctx, () => api.reset(id, credentials.csrBase64));
    try {
      await deps.secret.write(props.secretArn, secretString(props, reset.config, credentials.privateKeyBase64));
    } catch (err) {
      throw new RegistrationError(`${step}: the pool's credentials were reset, but ${messageOf(err)}. Workers started from now on `
        + 'cannot register until the deployment is retried (the retry resets them again)');
    }
    // Another reset landing meanwhile (an earlier attempt's, applied late, or one made outside CloudFormation) would
    // leave the pool a certificate for another key: trust this one only if the pool still has its token. (Spacelift's
    // `config` is read back as it was issued; the fake server and the Terraform provider's data source do the same.)
    const current = await guard(step, ctx, () => api.credentials(id));
    if (current === undefined) throw new RegistrationError(`${step}: the pool disappeared from Spacelift while its credentials were being reset`);
    if (current.config !== reset.config) {
      throw new RegistrationError(`${step}: the pool's token changed while its credentials were being reset (a reset Spacelift `
        + 'applied late, or one made outside CloudFormation); retry the deployment, which resets them again');
    }
    await guard(step, ctx, () => api.update(id, input(fingerprint)));
    logger.info('reset the worker pool credentials and stored them in its secret', { workerPoolId: id, credentialsFingerprint: fingerprint });
    return fingerprint;
  }

  /**
   * Waits, while the event has time, for the copy of this event that claimed the reset: done when the claim is gone
   * from the secret (the claiming copy's final write replaces it; until then the secret and the key label still name
   * the old credentials), the pool carries a key label again, and the secret holds its current token next to that
   * key. Answers that key's fingerprint, so both copies answer alike (a copy that arrives after the other finished
   * answers at once, without a second reset).
   */
  async function resetByOtherCopy(prepared: Prepared, id: string, step: string): Promise<string> {
    const { api, ctx, retry, props } = prepared;
    logger.info('another copy of this event claimed the reset: waiting for it', { workerPoolId: id });
    for (;;) {
      const claimed = hasField(await readOrFail(step, props), RESET_CLAIM_FIELD);
      const pool = claimed ? undefined : await guard(step, ctx, () => api.get(id));
      if (!claimed && pool === undefined) {
        throw new RegistrationError(`${step}: the pool disappeared from Spacelift while another copy of this event reset it`);
      }
      const fingerprint = pool === undefined ? undefined : keyFingerprintOf(pool.labels);
      if (fingerprint !== undefined && await holdsCurrentCredentials(prepared, id, fingerprint, step)) return fingerprint;
      // Another look needs time for its two Spacelift calls after the pause.
      if (retry.remainingMs() - OTHER_COPY_POLL_MS < 2 * MIN_ATTEMPT_MS) {
        throw new RegistrationError(`${step}: another copy of this event claimed the reset and has not finished it; retry the deployment`);
      }
      await deps.sleep(OTHER_COPY_POLL_MS);
    }
  }

  /** Whether the secret holds the pool's current token, next to the key whose fingerprint is `fingerprint`. */
  async function holdsCurrentCredentials({ api, props, ctx }: Prepared, id: string, fingerprint: string, step: string): Promise<boolean> {
    const stored = parseStored(props, await readOrFail(step, props));
    if (stored.privateKeyBase64 === undefined || keyFingerprint(stored.privateKeyBase64) !== fingerprint) return false;
    const pool = await guard(step, ctx, () => api.credentials(id));
    return pool !== undefined && stored.token === pool.config;
  }

  async function writeOrFail(step: string, props: RegistrationProperties, value: string, versionToken?: string): Promise<WriteOutcome> {
    try {
      return await deps.secret.write(props.secretArn, value, versionToken);
    } catch (err) {
      throw new RegistrationError(`${step}: ${messageOf(err)}`);
    }
  }

  async function readOrFail(step: string, props: RegistrationProperties, versionToken?: string): Promise<string | undefined> {
    try {
      return await deps.secret.read(props.secretArn, versionToken);
    } catch (err) {
      throw new RegistrationError(`${step}: ${messageOf(err)}`);
    }
  }

  async function remove({ api, props, label, ctx }: Prepared, id: string): Promise<void> {
    if (props.deletionPolicy === 'retain') {
      logger.info('deletion policy is retain: the Spacelift worker pool is left in place', { workerPoolId: id });
      return;
    }
    const step = `Could not delete Spacelift worker pool ${id}`;
    const pool = await guard(step, ctx, () => api.get(id));
    if (pool === undefined) {
      logger.info('the Spacelift worker pool no longer exists', { workerPoolId: id });
      return;
    }
    if (!pool.labels.includes(label)) {
      logger.warn('the Spacelift worker pool does not carry this resource\'s label; it is left in place', { workerPoolId: id });
      return;
    }
    if (pool.busyWorkers > 0) {
      const n = pool.busyWorkers;
      throw new RegistrationError(`${step}: ${n} worker${n === 1 ? ' is' : 's are'} busy; deleting the pool now would kill `
        + 'their runs. Let the runs finish (or drain the pool) and retry the deletion, or set the deletion policy to retain');
    }
    try {
      await api.delete(id);
    } catch (err) {
      if (!isPoolNotFound(err)) throw explain(step, err, ctx);
    }
    logger.info('deleted Spacelift worker pool', { workerPoolId: id });
  }
}

/** The pools that carry our resource label, oldest first (ULIDs sort by creation time). */
async function ownPools(api: PoolManagementApi, label: string): Promise<PoolSummary[]> {
  return (await api.list()).filter((pool) => pool.labels.includes(label)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function guard<T>(step: string, ctx: FailureContext, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw explain(step, err, ctx);
  }
}

/** The fields of the secret's value when it is a JSON object; none for anything else (a placeholder, another value). */
function secretFields(secretValue: string | undefined): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretValue ?? '');
  } catch {
    return {};
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {};
}

/** Whether the secret's value is a JSON object with the field `name`. */
function hasField(secretValue: string | undefined, name: string): boolean {
  return Object.hasOwn(secretFields(secretValue), name);
}

/** The secret's JSON value with one more field; a value that is not a JSON object (a placeholder) is dropped. */
function withField(secretValue: string | undefined, name: string, value: string): string {
  return JSON.stringify({ ...secretFields(secretValue), [name]: value });
}

/** The secret's value: the key alone until Spacelift has issued the pool's token. */
function secretString(props: RegistrationProperties, config: string | undefined, privateKeyBase64: string): string {
  return JSON.stringify({ ...(config === undefined ? {} : { [props.tokenKey]: config }), [props.privateKeyKey]: privateKeyBase64 });
}

/**
 * The token and the private key (base64 of its PEM) in the secret's value; either is undefined when absent (a
 * placeholder, another value), the key also when it does not parse. Only a pool whose key label names the key trusts
 * it (adopt, holdsCurrentCredentials).
 */
function parseStored(props: RegistrationProperties, secretValue: string | undefined): { token?: string; privateKeyBase64?: string } {
  const fields = secretFields(secretValue);
  const token = typeof fields[props.tokenKey] === 'string' ? fields[props.tokenKey] as string : undefined;
  const key = fields[props.privateKeyKey];
  let privateKeyBase64: string | undefined;
  try {
    if (typeof key === 'string') {
      createPrivateKey(Buffer.from(key, 'base64').toString('utf8'));
      privateKeyBase64 = key;
    }
  } catch {
    privateKeyBase64 = undefined;
  }
  return { ...(token === undefined ? {} : { token }), ...(privateKeyBase64 === undefined ? {} : { privateKeyBase64 }) };
}

function answer({ id, fingerprint }: Registered): RegistrationResponse {
  return { PhysicalResourceId: id, Data: { WorkerPoolId: id, CredentialsFingerprint: fingerprint } };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
