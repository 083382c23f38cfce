/**
 * The endpoint's rate limit, as one pure step that the endpoint (handler.ts) and the simulator (bench/sim/webhook.ts)
 * both take: at most one autoscaler tick per interval. A delivery inside the interval after a poke sends one
 * trailing poke, whose tick waits for the interval's end and covers every later delivery until then; the run it
 * reports arrived after the last tick read the pool, and would otherwise wait for the next scheduled invocation.
 * Times are in any one unit of seconds (the endpoint's Unix seconds, the simulator's trace time).
 */

export interface RateLimitState {
  /** When the last poke's tick reads the pool (for a trailing poke, the end of the interval it waits for). */
  readonly lastPokeAt: number;
  /** Until when a trailing poke's tick, still to come, covers deliveries. */
  readonly trailingAt: number;
}

export const NO_POKE_YET: RateLimitState = Object.freeze({ lastPokeAt: Number.NEGATIVE_INFINITY, trailingAt: Number.NEGATIVE_INFINITY });

export type RateLimitDecision =
  | { readonly kind: 'coalesce' }
  /** Poke, waiting until `notBefore` when given; `next` is the state once the poke is sent. */
  | { readonly kind: 'poke'; readonly notBefore?: number; readonly next: RateLimitState };

export function rateLimit(state: RateLimitState, now: number, intervalSeconds: number): RateLimitDecision {
  if (now < state.trailingAt) return { kind: 'coalesce' };
  const intervalEnd = state.lastPokeAt + intervalSeconds;
  if (now >= intervalEnd) return { kind: 'poke', next: { ...state, lastPokeAt: now } };
  return { kind: 'poke', notBefore: intervalEnd, next: { lastPokeAt: intervalEnd, trailingAt: intervalEnd } };
}
