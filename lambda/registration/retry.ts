/**
 * One retry of a transient Spacelift failure (timeout, network error, 429/5xx), after a jittered pause, and only
 * if the function has time left for it: a custom resource that overruns its Lambda timeout leaves CloudFormation
 * waiting for up to an hour.
 */
import { SpaceliftApiError } from '../spacelift/errors';
import type { SpaceliftLogger } from '../spacelift/http';
import { scrub } from './failures';

export interface RetryPolicy {
  /** Milliseconds left for Spacelift calls in this invocation (the function's remaining time minus a reserve). */
  readonly remainingMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. */
  readonly random: () => number;
  readonly logger?: SpaceliftLogger;
}

/** Below this, an attempt is not started: it could not complete. */
export const MIN_ATTEMPT_MS = 2_000;
const BACKOFF_MS = 1_000;

/**
 * Answers that say the server did not carry the request out (throttled, or unavailable): retrying such a request
 * cannot make it happen twice, which matters for a mutation that must not race an earlier copy of itself.
 */
export function refusedUnprocessed(err: SpaceliftApiError): boolean {
  return err.status === 429 || err.status === 503;
}

/** `only`, when given, narrows the transient failures worth the retry (e.g. `refusedUnprocessed`). */
export async function retryOnce<T>(
  policy: RetryPolicy,
  operation: string,
  attempt: (n: 1 | 2) => Promise<T>,
  only?: (err: SpaceliftApiError) => boolean,
): Promise<T> {
  try {
    return await attempt(1);
  } catch (err) {
    if (only !== undefined && !(err instanceof SpaceliftApiError && only(err))) throw err;
    const verdict = await pauseBeforeRetry(policy, operation, err);
    if (verdict === 'permanent') throw err;
    if (verdict === 'no time') throw withDetail(err as SpaceliftApiError, 'not retried: too little of the function timeout is left');
    try {
      return await attempt(2);
    } catch (second) {
      throw second instanceof SpaceliftApiError ? withDetail(second, 'after 2 attempts') : second;
    }
  }
}

/** Sleeps a jittered 1–2 s and answers `retry` when `err` is transient and time allows a further attempt. */
export async function pauseBeforeRetry(policy: RetryPolicy, operation: string, err: unknown): Promise<'retry' | 'permanent' | 'no time'> {
  if (!(err instanceof SpaceliftApiError) || !err.retryable) return 'permanent';
  const delayMs = Math.floor(BACKOFF_MS * (1 + policy.random()));
  if (policy.remainingMs() - delayMs < MIN_ATTEMPT_MS) return 'no time';
  policy.logger?.warn('Spacelift call failed, retrying once', { operation, reason: err.kind, error: scrub(err.message), delayMs });
  await policy.sleep(delayMs);
  return 'retry';
}

function withDetail(err: SpaceliftApiError, detail: string): SpaceliftApiError {
  return new SpaceliftApiError(err.kind, `${err.message} (${detail})`, {
    retryable: err.retryable,
    operation: err.operation,
    attempts: err.attempts,
    status: err.status,
    graphqlMessages: err.graphqlMessages,
    cause: err,
  });
}
