/**
 * The webhook endpoint behind a Lambda function URL: verifies a Spacelift webhook delivery and pokes the
 * autoscaler, which then ticks at once and reads the real state. The delivery is a poke, never a demand signal:
 * its payload does not reliably name the worker pool. The scheduled ticks stay the fallback.
 *
 * Every request is answered and logged in one line (method, status, reason, body size, signature validity), never
 * with the body, the signature or the secret. Checks run cheapest first: method (405), size (413, before the body
 * is decoded), signature header (401), signature (401), JSON (400), freshness and replay (400/409, replay.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { WEBHOOK_DIMENSION, WEBHOOK_REASON_DIMENSION, WebhookMetric } from '../shared/metrics';
import type { WebhookConfig } from './config';
import { NO_POKE_YET, rateLimit } from './rate-limit';
import { freshness, RecentDigests } from './replay';
import { waitsForWorker } from './run-state';
import type { SigningSecret } from './secret';
import { digestOf, parseSignature, SIGNATURE_HEADER, signatureMatches } from './signature';

export type WebhookLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface MetricSink {
  addDimension(name: string, value: string): unknown;
  addMetric(name: string, unit: Unit, value: number): unknown;
}

/** The part of Powertools `Metrics` the handler uses. */
export interface WebhookMetrics extends MetricSink {
  singleMetric(): MetricSink;
  publishStoredMetrics(): unknown;
}

export interface WebhookDeps {
  readonly config: WebhookConfig;
  readonly secret: SigningSecret;
  /**
   * Sends the autoscaler one asynchronous (`Event`) invocation, whose tick waits until `notBefore` (Unix seconds)
   * when given (lambda/shared/poke.ts); rejects when Lambda does not accept it.
   */
  readonly poke: (notBefore?: number) => Promise<void>;
  readonly logger: WebhookLogger;
  readonly metrics: WebhookMetrics;
  /** Unix time in seconds. */
  readonly clock: () => number;
}

export type WebhookResult = APIGatewayProxyStructuredResultV2;

/** Why a request was refused, and the status it gets. */
export const REJECTIONS = {
  'method-not-allowed': 405,
  'body-too-large': 413,
  'signature-missing': 401,
  'signature-malformed': 401,
  'signature-mismatch': 401,
  'body-not-json': 400,
  'timestamp-invalid': 400,
  'timestamp-in-future': 400,
  'replay-stale': 409,
  'replay-duplicate': 409,
} as const;

export type RejectReason = keyof typeof REJECTIONS;

/** What the log line says of the signature: checked only once method, size and header format pass. */
type SignatureState = 'unchecked' | 'missing' | 'malformed' | 'invalid' | 'valid';

interface Outcome {
  readonly status: number;
  readonly reason: RejectReason | 'poked' | 'deferred' | 'coalesced' | 'not-waiting' | 'secret-unavailable' | 'poke-failed';
  readonly signature: SignatureState;
  readonly error?: unknown;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export function createHandler(deps: WebhookDeps): (event: LambdaFunctionURLEvent) => Promise<WebhookResult> {
  // Per container (the construct reserves ten executions): the rate limit and the replay memory of this one.
  const recent = new RecentDigests(deps.config.replayWindowSeconds);
  let rate = NO_POKE_YET;

  async function handle(event: LambdaFunctionURLEvent, bodyBytes: number): Promise<Outcome> {
    const { config } = deps;
    if (event.requestContext?.http?.method !== 'POST') return reject('method-not-allowed', 'unchecked');
    // A declared Content-Length over the limit is refused even if the body is shorter.
    if (Number(event.headers?.['content-length']) > config.maxBodyBytes || bodyBytes > config.maxBodyBytes) {
      return reject('body-too-large', 'unchecked');
    }
    const header = event.headers?.[SIGNATURE_HEADER];
    if (header === undefined) return reject('signature-missing', 'missing');
    const claimed = parseSignature(header);
    if (claimed === undefined) return reject('signature-malformed', 'malformed');

    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    let verified: Buffer | undefined;
    try {
      verified = verify(body, claimed, await deps.secret.current())
        // Spacelift may still sign with the value the secret had before a rotation (within the grace period).
        ?? verify(body, claimed, await deps.secret.previous())
        // A mismatch may be a rotated secret: read it again (at most once a minute) before refusing.
        ?? verify(body, claimed, await deps.secret.refreshed());
    } catch (error) {
      return { status: 500, reason: 'secret-unavailable', signature: 'unchecked', error };
    }
    if (verified === undefined) return reject('signature-mismatch', 'invalid');

    const payload = parseObject(body);
    if (payload === undefined) return reject('body-not-json', 'valid');
    const now = deps.clock();
    switch (freshness(payload, now, config.replayWindowSeconds)) {
      case 'invalid': return reject('timestamp-invalid', 'valid');
      case 'future': return reject('timestamp-in-future', 'valid');
      case 'stale': return reject('replay-stale', 'valid');
      case 'fresh': break;
    }
    const digest = verified.toString('hex');
    if (recent.has(digest, now)) return reject('replay-duplicate', 'valid');
    if (!waitsForWorker(payload)) {
      recent.remember(digest, now);
      return { status: 202, reason: 'not-waiting', signature: 'valid' };
    }

    const decision = rateLimit(rate, now, config.minTriggerIntervalSeconds);
    if (decision.kind === 'coalesce') {
      recent.remember(digest, now);
      return { status: 202, reason: 'coalesced', signature: 'valid' };
    }
    try {
      await deps.poke(decision.notBefore);
    } catch (error) {
      // Not remembered, and the interval not restarted: Spacelift retries a 5xx with the same body.
      return { status: 502, reason: 'poke-failed', signature: 'valid', error };
    }
    recent.remember(digest, now);
    rate = decision.next;
    return { status: 202, reason: decision.notBefore === undefined ? 'poked' : 'deferred', signature: 'valid' };
  }

  return async (event) => {
    const bodyBytes = event.body === undefined ? 0 : Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
    const outcome = await handle(event, bodyBytes);
    report(deps, event, bodyBytes, outcome);
    return respond(outcome);
  };
}

function reject(reason: RejectReason, signature: SignatureState): Outcome {
  return { status: REJECTIONS[reason], reason, signature };
}

/** The body's digest under `secret` if it is the claimed one; undefined for a mismatch or no secret. */
function verify(body: Buffer, claimed: Buffer, secret: string | undefined): Buffer | undefined {
  if (secret === undefined) return undefined;
  const digest = digestOf(secret, body);
  return signatureMatches(digest, claimed) ? digest : undefined;
}

function parseObject(body: Buffer): Readonly<Record<string, unknown>> | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function respond(outcome: Outcome): WebhookResult {
  const body = outcome.status === 202
    ? (outcome.reason === 'poked' ? { poked: true } : outcome.reason === 'deferred' ? { poked: true, deferred: true } : { poked: false, reason: outcome.reason })
    : { error: outcome.status === 500 ? 'internal' : outcome.reason };
  const headers = outcome.reason === 'method-not-allowed' ? { ...JSON_HEADERS, allow: 'POST' } : JSON_HEADERS;
  return { statusCode: outcome.status, headers, body: JSON.stringify(body) };
}

/** One log line and the metrics of one request. Never the body, the signature header or the secret. */
function report(deps: WebhookDeps, event: LambdaFunctionURLEvent, bodyBytes: number, outcome: Outcome): void {
  const { logger, metrics, config } = deps;
  const line = {
    method: event.requestContext?.http?.method,
    status: outcome.status,
    reason: outcome.reason,
    bodyBytes,
    signature: outcome.signature,
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
  if (outcome.status >= 500) logger.error('webhook request failed', line);
  else if (outcome.status >= 400) logger.warn('webhook request rejected', line);
  else logger.info('webhook request accepted', line);

  metrics.addDimension(WEBHOOK_DIMENSION, config.autoscalerFunctionName);
  if (outcome.status === 202) {
    metrics.addMetric(WebhookMetric.Accepted, MetricUnit.Count, 1);
    if (outcome.reason === 'coalesced') metrics.addMetric(WebhookMetric.Coalesced, MetricUnit.Count, 1);
    if (outcome.reason === 'deferred') metrics.addMetric(WebhookMetric.Deferred, MetricUnit.Count, 1);
  } else if (outcome.status === 500) {
    metrics.addMetric(WebhookMetric.SecretUnavailable, MetricUnit.Count, 1);
  } else if (outcome.status === 502) {
    metrics.addMetric(WebhookMetric.PokeFailed, MetricUnit.Count, 1);
  } else {
    metrics.addMetric(WebhookMetric.Rejected, MetricUnit.Count, 1);
    const byReason = metrics.singleMetric();
    byReason.addDimension(WEBHOOK_DIMENSION, config.autoscalerFunctionName);
    byReason.addDimension(WEBHOOK_REASON_DIMENSION, outcome.reason);
    byReason.addMetric(WebhookMetric.Rejected, MetricUnit.Count, 1);
  }
  metrics.publishStoredMetrics();
}
