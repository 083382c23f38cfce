/**
 * The event the webhook endpoint invokes the autoscaler with: a poke, asking for a tick now, or, for a trailing
 * poke, at `notBefore`. The endpoint pokes at most once per interval; a delivery inside the interval is coalesced
 * into one trailing poke per interval, which ticks when the interval ends, so a run queued just after a poke waits
 * for that tick rather than for the next scheduled invocation.
 */

/** The `source` of a poke event. */
export const WEBHOOK_POKE_SOURCE = 'cdk-ec2-workerpool.webhook';

/**
 * The longest a trailing poke waits for its tick: beyond it the autoscaler ticks at once (the schedule looks every
 * minute anyway, and the invocation's sleep is billed).
 */
export const MAX_POKE_DEFER_SECONDS = 30;

export interface PokeEvent {
  readonly source: typeof WEBHOOK_POKE_SOURCE;
  /** Unix seconds when the endpoint sent the poke: a tick that started later has read what the poke is about. */
  readonly sentAt: number;
  /** Unix seconds before which the poke's tick should not run. */
  readonly notBefore?: number;
}

export function pokeEvent(sentAt: number, notBefore?: number): PokeEvent {
  return notBefore === undefined ? { source: WEBHOOK_POKE_SOURCE, sentAt } : { source: WEBHOOK_POKE_SOURCE, sentAt, notBefore };
}

export interface Poke {
  /** How long the poke asks to wait, in seconds from `now`. */
  readonly deferSeconds: number;
  /**
   * Unix seconds from which a tick serves the poke: its `notBefore`, else its `sentAt`; undefined when the event
   * gives neither (then only its own tick serves it).
   */
  readonly servedFrom?: number;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The poke an invocation event carries, or undefined when it is not one. It waits 0 s unless `notBefore` is a finite
 * number in the future, and never more than MAX_POKE_DEFER_SECONDS.
 */
export function readPoke(event: unknown, now: number): Poke | undefined {
  if (typeof event !== 'object' || event === null || (event as { source?: unknown }).source !== WEBHOOK_POKE_SOURCE) return undefined;
  const notBefore = finite((event as { notBefore?: unknown }).notBefore);
  const sentAt = finite((event as { sentAt?: unknown }).sentAt);
  const deferSeconds = Math.min(MAX_POKE_DEFER_SECONDS, Math.max(0, (notBefore ?? now) - now));
  const servedFrom = notBefore ?? sentAt;
  return servedFrom === undefined ? { deferSeconds } : { deferSeconds, servedFrom };
}
