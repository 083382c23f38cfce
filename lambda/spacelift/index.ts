/**
 * Spacelift GraphQL adapter for the WorkerPoolApi port: API-key→JWT exchange with caching and one
 * re-authentication on rejection, `availableAt` feature detection, and bounded retries (see http.ts).
 *
 * Spacelift has answered an expired token as an anonymous caller rather than rejecting it (spacectl #79): the
 * query succeeds with `workerPool: null`. A null pool therefore also triggers the one re-authentication; only
 * if the fresh token sees no pool either is it reported as missing (wrong id or missing permission).
 */
import type { DrainResult, WorkerPoolApi } from '../core/ports';
import type { PoolSnapshot } from '../core/types';
import { ConfigError } from '../shared/env';
import { isWorkerNotFound, SpaceliftApiError } from './errors';
import { postGraphQL, type GraphQLRequest, type SpaceliftLogger, type Transport } from './http';
import {
  apiKeyUserRequest,
  parseApiKeyUser,
  parseDrainedWorker,
  parseWorkerPool,
  workerDrainSetRequest,
  workerPoolRequest,
} from './operations';

export { SpaceliftApiError, type SpaceliftErrorKind } from './errors';
export type { SpaceliftLogger } from './http';

export interface SpaceliftApiOptions {
  /** Account URL, e.g. `https://acme.app.spacelift.io`; requests go to `<endpoint>/graphql`. */
  readonly endpoint: string;
  readonly apiKeyId: string;
  /** Read lazily, only when a JWT has to be obtained; the reader does its own caching. */
  readonly apiKeySecret: () => Promise<string>;
  readonly workerPoolId: string;
  /** Also fetch `schedulableRunsCount`. */
  readonly querySchedulableRuns?: boolean;
  /** Per HTTP attempt, including reading the body. Default 10 000. */
  readonly timeoutMs?: number;
  /** HTTP attempts per operation for transient failures. Default 4. */
  readonly maxAttempts?: number;
  readonly fetchImpl?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for backoff jitter. */
  readonly random?: () => number;
  /** Epoch milliseconds, to judge JWT expiry. */
  readonly clock?: () => number;
  readonly logger?: SpaceliftLogger;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ATTEMPTS = 4;
const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** Longest a token is reused: a rejection whose wording we do not recognise heals within this time at worst. */
const TOKEN_MAX_REUSE_MS = 15 * 60_000;
/**
 * A GraphQL error on a call made with a token at least this old may be the token's rejection in words we do not
 * know (Spacelift answers a stale token with HTTP 200 and an error text): one fresh exchange and retry settles it.
 */
const STALE_TOKEN_AGE_MS = 60_000;

interface CachedToken {
  readonly jwt: string;
  /** Epoch ms when the exchange answered. */
  readonly obtainedAt: number;
  /** Epoch ms after which the token is not used for new calls. */
  readonly refreshAt: number;
}

// Module scope so warm Lambda invocations reuse the JWT even if each builds a new client.
// Entries are promises so concurrent callers share one exchange.
const tokenCache = new Map<string, Promise<CachedToken>>();

export function createWorkerPoolApi(opts: SpaceliftApiOptions): WorkerPoolApi {
  const transport: Transport = {
    url: graphqlUrl(opts.endpoint),
    timeoutMs: positiveInteger('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxAttempts: positiveInteger('maxAttempts', opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    fetchImpl: opts.fetchImpl ?? fetch,
    sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: opts.random ?? Math.random,
    logger: opts.logger,
  };
  const clock = opts.clock ?? Date.now;
  const logger = opts.logger;
  const cacheKey = `${transport.url} ${opts.apiKeyId}`;
  // Asked for only with the schedulableRunsCount demand signal; dropped, like the fields below, on a schema without it.
  let withSchedulable = opts.querySchedulableRuns ?? false;
  // Older self-hosted schemas may lack Worker.availableAt or WorkerPool.busyWorkers; learnt once per client.
  let availableAtSupported = true;
  let busyWorkersSupported = true;
  // A token fresh from an exchange that still saw the anonymous answer: the answer is then the truth
  // (a wrong pool id, or a key that cannot see the pool), so later calls with it do not exchange again.
  let trustedAnonymousJwt: string | undefined;

  async function exchange(): Promise<CachedToken> {
    const secret = await opts.apiKeySecret();
    const data = await postGraphQL(transport, apiKeyUserRequest(opts.apiKeyId, secret), { sensitive: [secret] });
    const token = parseApiKeyUser(data, opts.apiKeyId);
    const now = clock();
    const expiresAt = token.validUntil * 1000;
    // Refresh a minute early, or halfway through a token that lives less than two minutes.
    const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, Math.max(0, (expiresAt - now) / 2));
    logger?.debug('Obtained a Spacelift API token', { apiKeyId: opts.apiKeyId, validUntil: token.validUntil });
    return { jwt: token.jwt, obtainedAt: now, refreshAt: Math.min(expiresAt - margin, now + TOKEN_MAX_REUSE_MS) };
  }

  async function currentToken(): Promise<CachedToken> {
    for (;;) {
      const entry = tokenCache.get(cacheKey);
      if (entry === undefined) break;
      const token = await entry.catch(() => undefined);
      if (token !== undefined && clock() < token.refreshAt) return token;
      if (tokenCache.get(cacheKey) === entry) {
        tokenCache.delete(cacheKey);
        break;
      }
      // Another caller replaced the entry while we waited; look at theirs.
    }
    const pending = exchange();
    tokenCache.set(cacheKey, pending);
    try {
      return await pending;
    } catch (err) {
      if (tokenCache.get(cacheKey) === pending) tokenCache.delete(cacheKey);
      throw err;
    }
  }

  async function forget(rejectedJwt: string): Promise<void> {
    const entry = tokenCache.get(cacheKey);
    if (entry === undefined) return;
    const token = await entry.catch(() => undefined);
    if (token?.jwt === rejectedJwt && tokenCache.get(cacheKey) === entry) tokenCache.delete(cacheKey);
  }

  /** `anonymous` says whether a successful answer looks like one given to an anonymous caller. */
  async function call(request: GraphQLRequest, anonymous?: (data: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const token = await currentToken();
    const jwt = token.jwt;
    let why: string;
    try {
      const data = await postGraphQL(transport, request, { jwt, sensitive: [jwt] });
      if (anonymous === undefined || !anonymous(data) || jwt === trustedAnonymousJwt) return data;
      why = 'Spacelift answered as if the API token were anonymous (an expired token can be), re-authenticating once';
    } catch (err) {
      if (!(err instanceof SpaceliftApiError)) throw err;
      if (err.kind === 'auth') why = 'Spacelift rejected the API token, re-authenticating once';
      else if (err.kind === 'graphql' && clock() - token.obtainedAt >= STALE_TOKEN_AGE_MS && !isKnownRefusal(err)) {
        why = 'Spacelift refused a call made with a reused API token, re-authenticating once in case the token is what it refused';
      } else throw err;
    }
    // Revoked sessions and clock skew make a cached token fail early; one fresh exchange settles it.
    logger?.info(why, { operation: request.operationName });
    await forget(jwt);
    const fresh = (await currentToken()).jwt;
    const data = await postGraphQL(transport, request, { jwt: fresh, sensitive: [fresh] });
    if (anonymous?.(data)) trustedAnonymousJwt = fresh;
    return data;
  }

  async function fetchSnapshot(): Promise<PoolSnapshot> {
    const request = workerPoolRequest(opts.workerPoolId, {
      availableAt: availableAtSupported, schedulableRunsCount: withSchedulable, busyWorkers: busyWorkersSupported,
    });
    const data = await call(request, (answer) => answer.workerPool === null || answer.workerPool === undefined);
    return parseWorkerPool(data, opts.workerPoolId, withSchedulable);
  }

  async function setDrain(workerId: string, drain: boolean): Promise<DrainResult> {
    const data = await call(workerDrainSetRequest(opts.workerPoolId, workerId, drain));
    return { worker: parseDrainedWorker(data) };
  }

  return {
    async snapshot() {
      // Each optional field is dropped at most once, so this ends after four requests at most.
      for (;;) {
        try {
          return await fetchSnapshot();
        } catch (err) {
          if (availableAtSupported && namesField(err, 'availableAt')) {
            availableAtSupported = false;
            logger?.warn('Spacelift schema has no Worker.availableAt (older self-hosted); idle time falls back to createdAt', {
              workerPoolId: opts.workerPoolId,
            });
          } else if (withSchedulable && namesField(err, 'schedulableRunsCount')) {
            withSchedulable = false;
            logger?.warn('Spacelift schema has no WorkerPool.schedulableRunsCount (older self-hosted); demand falls back to pendingRuns', {
              workerPoolId: opts.workerPoolId,
            });
          } else if (busyWorkersSupported && namesField(err, 'busyWorkers')) {
            busyWorkersSupported = false;
            logger?.warn('Spacelift schema has no WorkerPool.busyWorkers (older self-hosted); worker lists are not cross-checked', {
              workerPoolId: opts.workerPoolId,
            });
          } else throw err;
        }
      }
    },
    drain: (workerId) => setDrain(workerId, true),
    undrain: (workerId) => setDrain(workerId, false),
  };
}

/** A GraphQL error whose meaning we know, and which no token would change: a worker that is gone, a field the schema lacks. */
function isKnownRefusal(err: SpaceliftApiError): boolean {
  return isWorkerNotFound(err) || err.graphqlMessages.some((m) => /cannot query field/i.test(m));
}

function namesField(err: unknown, field: string): boolean {
  return err instanceof SpaceliftApiError
    && err.kind === 'graphql'
    && err.graphqlMessages.some((m) => new RegExp(`\\b${field}\\b`).test(m));
}

function graphqlUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(`Spacelift endpoint "${endpoint}" is not a URL`);
  }
  // The API key secret is posted to this URL: plain http only for a local test server.
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`Spacelift endpoint "${endpoint}" must use https`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '')}/graphql`;
  return url.toString();
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`Spacelift client option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
