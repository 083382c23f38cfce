/**
 * Bounds how long predictions may stand in for launches. A busy worker whose run will likely end soon counts as
 * capacity for a queued run (run-durations.ts), but a prediction can be wrong again and again: one stuck run, or
 * a chain of workers that each take a newer, higher-priority run when they free up, while one queued run keeps
 * waiting. So predictions cover the queue for at most `horizonSeconds` in a row: from then until the queue is seen
 * empty, every queued run gets capacity the usual way. A queued run thus waits at most one horizon plus one tick
 * longer for its launch than without predictions.
 */

export interface QueueCoverInput {
  readonly queued: number;
  /** Busy workers predicted to free up within the horizon. */
  readonly predicted: number;
  readonly horizonSeconds: number;
  /** Since when predictions have covered a non-empty queue without a break (the previous plan's value). */
  readonly coveredSince?: number;
  /** A failed read proves nothing about the queue: the clock is kept as it was. */
  readonly readFailed: boolean;
  readonly now: number;
}

export interface QueueCover {
  /** Predicted workers counted as capacity this tick. */
  readonly soon: number;
  readonly coveredSince?: number;
  readonly reasons: readonly string[];
}

export function coverQueue(input: QueueCoverInput): QueueCover {
  const { queued, predicted, horizonSeconds, now } = input;
  if (input.readFailed) {
    return { soon: 0, ...(input.coveredSince === undefined ? {} : { coveredSince: input.coveredSince }), reasons: [] };
  }
  if (queued === 0 || predicted === 0) return { soon: 0, reasons: [] };
  const since = input.coveredSince ?? now;
  const covering = now - since;
  if (covering >= horizonSeconds) {
    return {
      soon: 0,
      coveredSince: since,
      reasons: [`busy workers predicted to free up have covered queued runs for ${covering}s: launching for them instead`],
    };
  }
  const soon = Math.min(queued, predicted);
  return {
    soon,
    coveredSince: since,
    reasons: [`${soon} busy workers likely free within ${horizonSeconds}s count as capacity for queued runs`],
  };
}
