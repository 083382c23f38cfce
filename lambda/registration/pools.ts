/**
 * Spacelift worker pool management for one custom resource event: exchanges the API key for a JWT once, then
 * sends each operation with a per-attempt timeout bounded by the time the function has left. Idempotent
 * operations are retried once (retry.ts); `create` is not and `reset` only when refused unprocessed, because one that
 * timed out may still have happened: the handler looks the pool up by its label before creating again, and checks
 * the pool's token after a reset.
 */
import { SpaceliftApiError } from '../spacelift/errors';
import { postGraphQL, type GraphQLRequest, type SpaceliftLogger, type Transport } from '../spacelift/http';
import { apiKeyUserRequest, parseApiKeyUser } from '../spacelift/operations';
import {
  parseCredentialsReply,
  parseWorkerPool,
  parseWorkerPools,
  workerPoolConfigRequest,
  workerPoolCreateRequest,
  workerPoolDeleteRequest,
  workerPoolRequest,
  workerPoolResetRequest,
  workerPoolsRequest,
  workerPoolUpdateRequest,
  type PoolCredentialsReply,
  type PoolInput,
  type PoolSummary,
  type PoolWorkers,
} from './operations';
import { MIN_ATTEMPT_MS, refusedUnprocessed, retryOnce, type RetryPolicy } from './retry';

export interface PoolManagementApi {
  list(): Promise<PoolSummary[]>;
  /** undefined when the pool does not exist. */
  get(id: string): Promise<PoolWorkers | undefined>;
  /** The pool's id and current token; undefined when the pool does not exist. */
  credentials(id: string): Promise<PoolCredentialsReply | undefined>;
  /** Not retried (see above). */
  create(input: PoolInput, csr: string): Promise<PoolCredentialsReply>;
  update(id: string, input: PoolInput): Promise<void>;
  reset(id: string, csr: string): Promise<PoolCredentialsReply>;
  delete(id: string): Promise<void>;
}

export interface PoolManagementOptions {
  /** `<endpoint>/graphql`, already checked (https, or http on loopback). */
  readonly url: string;
  readonly apiKeyId: string;
  readonly apiKeySecret: () => Promise<string>;
  /** Upper bound of one HTTP attempt. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fetchImpl?: typeof fetch;
  readonly logger?: SpaceliftLogger;
}

export function createPoolManagementApi(opts: PoolManagementOptions): PoolManagementApi {
  let jwt: Promise<string> | undefined;

  async function send(request: GraphQLRequest, sensitive: readonly string[], token?: string): Promise<Record<string, unknown>> {
    const remaining = opts.retry.remainingMs();
    if (remaining < MIN_ATTEMPT_MS) {
      throw new SpaceliftApiError('timeout', `Spacelift ${request.operationName} not sent: only ${Math.max(0, remaining)} ms of the function timeout left`, {
        retryable: false,
        operation: request.operationName,
      });
    }
    const transport: Transport = {
      url: opts.url,
      timeoutMs: Math.min(opts.timeoutMs, remaining),
      maxAttempts: 1,
      fetchImpl: opts.fetchImpl ?? fetch,
      sleep: opts.retry.sleep,
      random: opts.retry.random,
      logger: opts.logger,
    };
    return postGraphQL(transport, request, { jwt: token, sensitive: token === undefined ? sensitive : [token, ...sensitive] });
  }

  async function exchange(): Promise<string> {
    const secret = await opts.apiKeySecret();
    const request = apiKeyUserRequest(opts.apiKeyId, secret);
    const data = await retryOnce(opts.retry, request.operationName, () => send(request, [secret]));
    return parseApiKeyUser(data, opts.apiKeyId).jwt;
  }

  /** `retry`: every transient failure once, only refusals the server did not carry out, or never. */
  async function call(
    request: GraphQLRequest,
    options: { retry: boolean | 'refused'; sensitive?: readonly string[] },
  ): Promise<Record<string, unknown>> {
    jwt ??= exchange();
    const pending = jwt;
    pending.catch(() => {
      if (jwt === pending) jwt = undefined;
    });
    const token = await pending;
    const once = () => send(request, options.sensitive ?? [], token);
    if (options.retry === false) return once();
    return retryOnce(opts.retry, request.operationName, once, options.retry === 'refused' ? refusedUnprocessed : undefined);
  }

  return {
    list: async () => parseWorkerPools(await call(workerPoolsRequest(), { retry: true })),
    get: async (id) => parseWorkerPool(await call(workerPoolRequest(id), { retry: true })),
    credentials: async (id) => {
      const data = await call(workerPoolConfigRequest(id), { retry: true });
      return data.workerPool === null || data.workerPool === undefined ? undefined : parseCredentialsReply(data, 'workerPool');
    },
    create: async (input, csr) => parseCredentialsReply(
      await call(workerPoolCreateRequest(input, csr), { retry: false, sensitive: [csr] }),
      'workerPoolCreate',
    ),
    update: async (id, input) => {
      await call(workerPoolUpdateRequest(id, input), { retry: true });
    },
    // Retried only when Spacelift refused it unprocessed (429, 503): a reset that timed out may still land, later than
    // a second one, and leave a token the stored one is not. The handler checks the token before it trusts a reset.
    reset: async (id, csr) => parseCredentialsReply(
      await call(workerPoolResetRequest(id, csr), { retry: 'refused', sensitive: [csr] }),
      'workerPoolReset',
    ),
    delete: async (id) => {
      await call(workerPoolDeleteRequest(id), { retry: true });
    },
  };
}
