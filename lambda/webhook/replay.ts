/**
 * Replay protection for signed deliveries. Spacelift sends no delivery id and no signed timestamp header (its
 * webhook docs list only `X-Signature` and `X-Signature-256`: https://docs.spacelift.io/integrations/webhooks), so
 * a captured request stays validly signed for ever. Two checks narrow what a replay can do:
 *
 * - the body's `timestamp` field, when it has one: the default run event payload carries the unix time (seconds)
 *   of the state transition, and a notification policy's custom payload can set it. Older than the window is a
 *   replay; more than FUTURE_TOLERANCE_SECONDS ahead is malformed (a policy that put nanoseconds there, say).
 * - the digest of every delivery accepted within the window, kept in this container's memory: the same body
 *   again is a replay.
 *
 * Not covered: a replay reaching another container (each of the function's reserved executions has its own
 * memory, and a cold start forgets the digests) and, for a body without a `timestamp`, a replay after the window.
 * Each costs at most one extra poke per container and minimum interval, and a poke only makes the autoscaler read
 * the real state, as every scheduled tick does.
 */

/** Clock skew tolerated for a `timestamp` ahead of ours. */
export const FUTURE_TOLERANCE_SECONDS = 60;

/** At most this many digests are kept (about 100 bytes each); beyond it the oldest are forgotten first. */
export const MAX_REMEMBERED_DIGESTS = 10_000;

export type Freshness = 'fresh' | 'stale' | 'future' | 'invalid';

/** Judges a parsed body by its top-level `timestamp` (unix seconds); a body without one is fresh. */
export function freshness(body: Readonly<Record<string, unknown>>, nowSeconds: number, windowSeconds: number): Freshness {
  if (!('timestamp' in body)) return 'fresh';
  const timestamp = body.timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'invalid';
  if (timestamp > nowSeconds + FUTURE_TOLERANCE_SECONDS) return 'future';
  return nowSeconds - timestamp > windowSeconds ? 'stale' : 'fresh';
}

/** The digests of the deliveries accepted within the last `windowSeconds`, oldest first. */
export class RecentDigests {
  private readonly acceptedAt = new Map<string, number>();

  constructor(private readonly windowSeconds: number, private readonly capacity = MAX_REMEMBERED_DIGESTS) {}

  has(digest: string, nowSeconds: number): boolean {
    this.forgetOlderThanWindow(nowSeconds);
    return this.acceptedAt.has(digest);
  }

  /** Called for accepted deliveries only: a delivery answered 5xx is retried by Spacelift with the same body. */
  remember(digest: string, nowSeconds: number): void {
    this.forgetOlderThanWindow(nowSeconds);
    for (const oldest of this.acceptedAt.keys()) {
      if (this.acceptedAt.size < this.capacity) break;
      this.acceptedAt.delete(oldest);
    }
    this.acceptedAt.set(digest, nowSeconds);
  }

  get size(): number {
    return this.acceptedAt.size;
  }

  private forgetOlderThanWindow(nowSeconds: number): void {
    for (const [digest, at] of this.acceptedAt) {
      if (nowSeconds - at <= this.windowSeconds) break;
      this.acceptedAt.delete(digest);
    }
  }
}
