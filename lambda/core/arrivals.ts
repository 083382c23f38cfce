/**
 * Estimates how often runs arrive at the pool, from consecutive snapshots only (the Spacelift API
 * has no arrival counter). State goes in and out explicitly; the handler keeps it in memory
 * between ticks, and a cold start simply begins again.
 *
 * Assumptions:
 * - Arrivals = runs started + growth of the pending queue. A run that queued and later started is
 *   counted once: its queueing adds one, its start adds one and the queue shrinking removes one.
 *   Runs cancelled while queued make the estimate low, never high (an interval never goes below 0).
 * - A run started on a worker between two snapshots when the worker went idle -> busy, or when its
 *   `availableAt` (idle-since) changed while it was not going busy -> idle (a worker that finishes
 *   a run changes `availableAt` without starting anything). Several runs on one worker within one
 *   interval count as one or two, so short runs are undercounted; without `availableAt` only
 *   idle -> busy transitions count.
 * - A worker first seen busy started one run.
 * - The rate is a time-weighted EWMA with a half-life, bias-corrected for the first intervals, and
 *   only reported once the observations span one half-life; before that `arrivalRate` returns
 *   undefined and the break-even delay uses its neutral value.
 */
import type { PoolSnapshot } from './types';

/** What the estimator remembers about a worker from the previous snapshot. */
export interface WorkerSighting {
  readonly busy: boolean;
  readonly availableAt?: number;
}

export interface ArrivalState {
  /** Epoch seconds of the snapshot last observed. */
  readonly at: number;
  readonly pendingRuns: number;
  /** Each worker of the last snapshot, by worker id. */
  readonly workers: Readonly<Record<string, WorkerSighting>>;
  /** EWMA numerator: decayed sum of per-interval arrival rates (runs per second). */
  readonly weightedRate: number;
  /** EWMA denominator: 1 - 2^(-observed seconds / half-life); divides out the zero start. */
  readonly weight: number;
}

/** Ten minutes: averages over ten 1-minute ticks, yet a burst's weight halves every ten minutes. */
export const DEFAULT_ARRIVAL_HALF_LIFE_SECONDS = 600;

function sightings(pool: PoolSnapshot): Record<string, WorkerSighting> {
  const result: Record<string, WorkerSighting> = {};
  for (const worker of pool.workers) {
    result[worker.id] = { busy: worker.busy, availableAt: worker.availableAt };
  }
  return result;
}

/** Runs that started on workers between the previous sightings and `pool`. */
export function countRunStarts(previous: Readonly<Record<string, WorkerSighting>>, pool: PoolSnapshot): number {
  let starts = 0;
  for (const worker of pool.workers) {
    const before = Object.hasOwn(previous, worker.id) ? previous[worker.id] : undefined;
    if (before === undefined) {
      if (worker.busy) starts += 1;
      continue;
    }
    if (!before.busy && worker.busy) starts += 1;
    const idleSinceChanged = worker.availableAt !== undefined && worker.availableAt !== before.availableAt;
    const justFinished = before.busy && !worker.busy;
    if (idleSinceChanged && !justFinished) starts += 1;
  }
  return starts;
}

/**
 * Folds one snapshot into the estimate. A snapshot not newer than the state is ignored (the state
 * is returned unchanged), so replays and clock skew cannot divide by zero or count twice.
 */
export function observeArrivals(
  previous: ArrivalState | undefined,
  pool: PoolSnapshot,
  now: number,
  halfLifeSeconds: number = DEFAULT_ARRIVAL_HALF_LIFE_SECONDS,
): ArrivalState {
  if (!(halfLifeSeconds > 0) || !Number.isFinite(halfLifeSeconds)) {
    throw new Error(`halfLifeSeconds must be a positive number, got ${halfLifeSeconds}`);
  }
  const pendingRuns = Math.max(0, pool.pendingRuns);
  if (previous === undefined) {
    return { at: now, pendingRuns, workers: sightings(pool), weightedRate: 0, weight: 0 };
  }
  const elapsed = now - previous.at;
  if (!(elapsed > 0)) return previous;
  const arrivals = Math.max(0, countRunStarts(previous.workers, pool) + pendingRuns - previous.pendingRuns);
  const keep = Math.pow(2, -elapsed / halfLifeSeconds);
  return {
    at: now,
    pendingRuns,
    workers: sightings(pool),
    weightedRate: keep * previous.weightedRate + (1 - keep) * (arrivals / elapsed),
    weight: keep * previous.weight + (1 - keep),
  };
}

/** Runs per second, or undefined until the observations span at least one half-life. */
export function arrivalRate(state: ArrivalState | undefined): number | undefined {
  // The tolerance absorbs rounding when many short intervals add up to exactly one half-life.
  if (state === undefined || state.weight < 0.5 - 1e-9) return undefined;
  return state.weightedRate / state.weight;
}
