/**
 * The custom resource's onEvent handler (aws-cdk-lib custom-resources Provider framework): creates, updates,
 * rotates and deletes the Spacelift worker pool, and writes its token and private key into the pool's secret.
 * The framework turns a throw into a FAILED response whose reason is the error message; the response data is only
 * the pool id. Nothing secret is logged, returned or put in an error message.
 */
import { createPrivateKey } from 'node:crypto';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { WORKER_POOL_ID } from '../shared/pool-id';
import type { SpaceliftLogger } from '../spacelift/http';
import type { WorkerPoolCredentials } from './credentials';
import { explain, isPoolNotFound, RegistrationError, type FailureContext } from './failures';
import type { PoolInput } from './operations';
import type { PoolManagementApi } from './pools';
import { parseProperties, type RegistrationProperties } from './properties';
import { resourceLabel, withResourceLabel } from './resource-label';
import { pauseBeforeRetry, type RetryPolicy } from './retry';
import type { SecretStore } from './secret';

export interface RegistrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly WorkerPoolId: string };
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
  readonly label: string;
  readonly input: PoolInput;
  readonly ctx: FailureContext;
}

// Kept back from the Lambda timeout for the secret write and the response to the framework.
const RESERVE_MS = 5_000;
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
          return answer(await update(prepared, event.PhysicalResourceId, parseProperties(event.OldResourceProperties)));
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
      input: { name: props.name, description: props.description, labels: withResourceLabel(props.labels, label), space: props.space },
      ctx: { apiKeyId: deps.apiKeyId, endpoint: deps.endpoint, space: props.space, name: props.name },
    };
  }

  async function create({ api, props, input, label, ctx }: Prepared, retry: RetryPolicy): Promise<string> {
    const step = `Could not create Spacelift worker pool "${props.name}"`;
    let credentials: WorkerPoolCredentials | undefined;
    for (let attempt = 1; ; attempt++) {
      // A repeated Create, or a create that timed out but happened, left a pool with our label: adopt it.
      const own = await guard(step, ctx, () => findOwn(api, label));
      if (own.length > 0) return adopt(api, own, props, input, ctx);
      if (credentials === undefined) {
        credentials = deps.newCredentials();
        // Stored before the pool exists: if this attempt dies after Spacelift made the pool, the next one finds the
        // key the pool's certificate was issued for, and adopts the pool without resetting it.
        await writeOrFail(step, props, secretString(props, undefined, credentials));
      }
      let created: { id: string; config: string };
      try {
        created = await api.create(input, credentials.csrBase64);
      } catch (err) {
        // Only a timeout or a transient error is worth a second look, once, and only with time left for it.
        if (attempt > 1 || await pauseBeforeRetry(retry, 'WorkerPoolCreate', err) !== 'retry') throw explain(step, err, ctx);
        continue;
      }
      if (!WORKER_POOL_ID.test(created.id)) {
        throw new RegistrationError(`create: Spacelift answered a worker pool id that is not a ULID (${JSON.stringify(created.id)})`);
      }
      logger.info('created Spacelift worker pool', { workerPoolId: created.id });
      try {
        await deps.secret.write(props.secretArn, secretString(props, created.config, credentials));
      } catch (err) {
        // The pool is useless without its token stored, and nothing runs on it yet: take it back so the next attempt
        // starts clean rather than from a half-written secret.
        const cleanup = await api.delete(created.id).then(() => 'it was deleted again', () => `it (${created.id}) is left in Spacelift; delete it by hand`);
        throw new RegistrationError(`${step}: the pool was created, but ${messageOf(err)}; ${cleanup}`);
      }
      return created.id;
    }
  }

  /**
   * Takes over the pool an earlier attempt of this resource made. The secret still holds the key that attempt
   * stored before creating it, so only the token is fetched again: no reset. A reset (new key, new token) is the
   * fallback when the key is not there (the stack was created again, with a new secret, after a failed first deploy
   * or a deletion that retained the pool) or when more than one pool carries the label (attempts raced, and the
   * stored key may belong to either).
   */
  async function adopt(
    api: PoolManagementApi,
    ids: readonly string[],
    props: RegistrationProperties,
    input: PoolInput,
    ctx: FailureContext,
  ): Promise<string> {
    const [id, ...others] = ids;
    const step = `Could not take over Spacelift worker pool ${id}, created earlier for this resource`;
    if (others.length > 0) {
      logger.warn('more than one Spacelift worker pool carries this resource\'s label: adopting the oldest; delete the others by hand',
        { workerPoolId: id, others });
    }
    logger.info('adopting the worker pool made earlier for this resource', { workerPoolId: id });
    await guard(step, ctx, () => api.update(id, input));
    const stored = others.length === 0 ? storedPrivateKey(props, await readOrFail(step, props)) : undefined;
    if (stored === undefined) {
      await rotate(api, id, props, deps.newCredentials(), ctx, step);
      return id;
    }
    const { config } = await guard(step, ctx, () => api.credentials(id));
    await writeOrFail(step, props, secretString(props, config, stored));
    logger.info('stored the adopted pool\'s token next to the key it was created with', { workerPoolId: id });
    return id;
  }

  async function update({ api, props, input, ctx }: Prepared, id: string, old: RegistrationProperties): Promise<string> {
    const step = `Could not update Spacelift worker pool ${id}`;
    if (!WORKER_POOL_ID.test(id)) throw new RegistrationError(`${step}: the physical id is not a Spacelift worker pool id`);
    try {
      await api.update(id, input);
    } catch (err) {
      if (isPoolNotFound(err)) {
        throw new RegistrationError(`${step}: Spacelift has no such pool (deleted outside CloudFormation?). `
          + 'Remove the resource from the stack and add it again to create a new pool');
      }
      throw explain(step, err, ctx);
    }
    logger.info('updated Spacelift worker pool', { workerPoolId: id });
    // A new generation asks for new credentials; a different secret or key names need them written there.
    const rotateNow = props.resetGeneration !== old.resetGeneration
      || props.secretArn !== old.secretArn
      || props.tokenKey !== old.tokenKey
      || props.privateKeyKey !== old.privateKeyKey;
    if (rotateNow) await rotate(api, id, props, deps.newCredentials(), ctx, `Could not reset the credentials of Spacelift worker pool ${id}`);
    return id;
  }

  async function writeOrFail(step: string, props: RegistrationProperties, value: string): Promise<void> {
    try {
      await deps.secret.write(props.secretArn, value);
    } catch (err) {
      throw new RegistrationError(`${step}: ${messageOf(err)}`);
    }
  }

  async function readOrFail(step: string, props: RegistrationProperties): Promise<string | undefined> {
    try {
      return await deps.secret.read(props.secretArn);
    } catch (err) {
      throw new RegistrationError(`${step}: ${messageOf(err)}`);
    }
  }

  async function rotate(
    api: PoolManagementApi,
    id: string,
    props: RegistrationProperties,
    credentials: WorkerPoolCredentials,
    ctx: FailureContext,
    step: string,
  ): Promise<void> {
    const reset = await guard(step, ctx, () => api.reset(id, credentials.csrBase64));
    try {
      await deps.secret.write(props.secretArn, secretString(props, reset.config, credentials));
    } catch (err) {
      throw new RegistrationError(`${step}: the pool's credentials were reset, but ${messageOf(err)}. Workers started from now on `
        + 'cannot register until the deployment is retried (the retry resets them again)');
    }
    logger.info('reset the worker pool credentials and stored them in its secret', { workerPoolId: id });
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

/** The pools that carry our label, oldest first (ULIDs sort by creation time). */
async function findOwn(api: PoolManagementApi, label: string): Promise<string[]> {
  return (await api.list()).filter((pool) => pool.labels.includes(label)).map((pool) => pool.id).sort();
}

async function guard<T>(step: string, ctx: FailureContext, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw explain(step, err, ctx);
  }
}

/** The secret's value: the key alone until Spacelift has issued the pool's token. */
function secretString(props: RegistrationProperties, config: string | undefined, key: { privateKeyBase64: string }): string {
  return JSON.stringify({ ...(config === undefined ? {} : { [props.tokenKey]: config }), [props.privateKeyKey]: key.privateKeyBase64 });
}

/** The RSA private key stored in the secret's value, or undefined when there is none (a placeholder, another value). */
function storedPrivateKey(props: RegistrationProperties, secretValue: string | undefined): { privateKeyBase64: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(secretValue ?? '');
  } catch {
    return undefined;
  }
  const privateKeyBase64 = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[props.privateKeyKey] : undefined;
  if (typeof privateKeyBase64 !== 'string') return undefined;
  try {
    const key = createPrivateKey(Buffer.from(privateKeyBase64, 'base64').toString('utf8'));
    return key.asymmetricKeyType === 'rsa' ? { privateKeyBase64 } : undefined;
  } catch {
    return undefined;
  }
}

function answer(id: string): RegistrationResponse {
  return { PhysicalResourceId: id, Data: { WorkerPoolId: id } };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
