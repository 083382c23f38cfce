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
  /** Unix seconds before which the poke's tick should not run. */
  readonly notBefore?: number;
}

export function pokeEvent(notBefore?: number): PokeEvent {
  return notBefore === undefined ? { source: WEBHOOK_POKE_SOURCE } : { source: WEBHOOK_POKE_SOURCE, notBefore };
}

/**
 * The poke an invocation event carries, or undefined when it is not one. How long it asks to wait, in seconds from
 * `now`: 0 unless `notBefore` is a finite number in the future, and never more than MAX_POKE_DEFER_SECONDS.
 */
export function readPoke(event: unknown, now: number): { readonly deferSeconds: number } | undefined {
  if (typeof event !== 'object' || event === null || (event as { source?: unknown }).source !== WEBHOOK_POKE_SOURCE) return undefined;
  const notBefore = (event as { notBefore?: unknown }).notBefore;
  const wait = typeof notBefore === 'number' && Number.isFinite(notBefore) ? notBefore - now : 0;
  return { deferSeconds: Math.min(MAX_POKE_DEFER_SECONDS, Math.max(0, wait)) };
}
