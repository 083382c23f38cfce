/**
 * One GraphQL POST with a per-attempt timeout and bounded, jittered retries. Knows nothing about
 * tokens or workers: it turns every way a call can fail into a classified SpaceliftApiError.
 */
import { SpaceliftApiError, type SpaceliftErrorKind } from './errors';

/** The subset of the Powertools Logger the client uses; a Powertools Logger fits as is. */
export interface SpaceliftLogger {
  debug(message: string, attributes: Record<string, unknown>): void;
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface GraphQLRequest {
  readonly operationName: string;
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
}

export interface Transport {
  readonly url: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly fetchImpl: typeof fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly logger?: SpaceliftLogger;
}

export interface Credentials {
  readonly jwt?: string;
  /** Values that must never reach a log line or an error message, even if the server echoes them. */
  readonly sensitive: readonly string[];
}

interface Failure {
  readonly kind: SpaceliftErrorKind;
  readonly message: string;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly graphqlMessages?: readonly string[];
  readonly cause?: unknown;
}

type Outcome = { readonly ok: true; readonly data: Record<string, unknown> } | { readonly ok: false; readonly failure: Failure };

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5_000;
// A Lambda tick has a short budget; a longer Retry-After is shortened rather than slept through.
const RETRY_AFTER_CAP_MS = 10_000;
// A garbled body is usually a proxy hiccup; more than a couple in a row is not going to heal.
const MALFORMED_RETRIES = 2;
/** Longest error text kept in an error message or log line, cut after redaction. */
const MAX_MESSAGE_LENGTH = 500;

// Spacelift answers an expired or revoked token with HTTP 200 and an error text, not a 401.
const AUTH_MESSAGE = /unauthori[sz]ed|unauthenticated|(expired|invalid) (jwt|token)|(jwt|token) (is )?(expired|invalid)/i;

export async function postGraphQL(
  transport: Transport,
  request: GraphQLRequest,
  credentials: Credentials,
): Promise<Record<string, unknown>> {
  const redact = redactor(credentials.sensitive);
  let malformed = 0;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(transport, request, credentials.jwt);
    if (outcome.ok) return outcome.data;

    const failure = outcome.failure;
    const message = redact(failure.message).slice(0, MAX_MESSAGE_LENGTH);
    if (failure.kind === 'malformed') malformed++;
    const retry = failure.retryable && attempt < transport.maxAttempts && malformed <= MALFORMED_RETRIES;
    if (!retry) {
      throw new SpaceliftApiError(
        failure.kind,
        `Spacelift ${request.operationName} failed: ${message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`,
        {
          retryable: failure.retryable,
          operation: request.operationName,
          attempts: attempt,
          status: failure.status,
          graphqlMessages: failure.graphqlMessages?.map(redact),
          cause: failure.cause,
        },
      );
    }
    // Full jitter keeps concurrent Lambdas from retrying in lockstep.
    const delayMs = failure.retryAfterMs
      ?? Math.floor(transport.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    transport.logger?.warn('Spacelift API call failed, retrying', {
      operation: request.operationName,
      attempt,
      maxAttempts: transport.maxAttempts,
      reason: failure.kind,
      status: failure.status,
      error: message,
      delayMs,
    });
    await transport.sleep(delayMs);
  }
}

async function attemptOnce(transport: Transport, request: GraphQLRequest, jwt: string | undefined): Promise<Outcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), transport.timeoutMs);
  let status: number;
  let retryAfter: string | null;
  let text: string;
  try {
    const response = await transport.fetchImpl(transport.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept': 'application/json',
        ...(jwt === undefined ? {} : { authorization: `Bearer ${jwt}` }),
      },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    // Reading the body stays under the same timeout: a server can stall mid-body too.
    text = await response.text();
  } catch (err) {
    if (controller.signal.aborted) {
      return failed({ kind: 'timeout', message: `no complete response within ${transport.timeoutMs} ms`, retryable: true });
    }
    return failed({ kind: 'network', message: describeNetworkError(err), retryable: true, cause: err });
  } finally {
    clearTimeout(timer);
  }
  return classify(status, retryAfter, text);
}

function classify(status: number, retryAfter: string | null, text: string): Outcome {
  if (status === 401) {
    return failed({ kind: 'auth', message: 'HTTP 401 Unauthorized', retryable: false, status });
  }
  if (status === 429 || status >= 500) {
    return failed({ kind: 'http', message: `HTTP ${status}`, retryable: true, status, retryAfterMs: parseRetryAfter(retryAfter) });
  }
  const body = parseJson(text);
  const messages = graphqlErrorMessages(body);
  // Some GraphQL servers answer validation errors with 400/422 and an `errors` body.
  if (messages !== undefined) return graphqlFailure(messages, status);
  if (status < 200 || status >= 300) {
    return failed({ kind: 'http', message: `HTTP ${status}`, retryable: false, status });
  }
  if (!isRecord(body)) {
    return failed({ kind: 'malformed', message: 'response body is not a JSON object', retryable: true, status });
  }
  if (!isRecord(body.data)) {
    return failed({ kind: 'malformed', message: 'response has neither data nor errors', retryable: true, status });
  }
  return { ok: true, data: body.data };
}

function graphqlFailure(messages: readonly string[], status: number): Outcome {
  const auth = messages.some((m) => AUTH_MESSAGE.test(m));
  return failed({
    kind: auth ? 'auth' : 'graphql',
    // Whole: postGraphQL redacts before it shortens, so no part of an echoed secret survives the cut.
    message: messages.join('; '),
    retryable: false,
    status,
    graphqlMessages: messages,
  });
}

function graphqlErrorMessages(body: unknown): readonly string[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.errors) || body.errors.length === 0) return undefined;
  return body.errors.map((e) => (isRecord(e) && typeof e.message === 'string' ? e.message : JSON.stringify(e)));
}

/** Retry-After in seconds (the HTTP-date form is not used by API gateways we talk to). */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Math.min(Number(header) * 1000, RETRY_AFTER_CAP_MS);
}

function describeNetworkError(err: unknown): string {
  // undici reports "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND...) in `cause`.
  // No instanceof: fetch's errors may come from another realm (e.g. under jest).
  const cause = typeof err === 'object' && err !== null ? (err as { cause?: unknown }).cause : undefined;
  return cause === undefined ? String(err) : `${String(err)} (${String(cause)})`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function failed(failure: Failure): Outcome {
  return { ok: false, failure };
}

function redactor(sensitive: readonly string[]): (text: string) => string {
  const values = sensitive.filter((v) => v.length > 0);
  return (text) => values.reduce((acc, value) => acc.split(value).join('[redacted]'), text);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
