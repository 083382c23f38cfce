/**
 * How long runs take on this pool, learnt from consecutive snapshots, so that a busy worker whose run will soon end
 * can count as capacity for a queued run: launching an instance for that run would only pay a boot, because
 * Spacelift gives the run to the first worker that frees up, and the new instance would then start idle.
 *
 * The Spacelift API says whether a worker is busy, not since when, so:
 * - a worker seen idle and then busy started its run between the two snapshots; one that registered between them,
 *   or whose `availableAt` (idle since) changed while busy both times, started it after that (the middle is used);
 * - a worker first seen busy otherwise (a cold start) has an unknown start and never counts as finishing soon;
 * - a run ends when its worker is next seen idle, or busy with a new `availableAt`: at `availableAt` when the API
 *   gives it, else at that snapshot; its duration joins the last `MAX_SAMPLES` durations.
 * A snapshot that omits a worker forgets it; it comes back with an unknown start (the cautious side).
 * State goes in and out explicitly; the handler keeps it in memory, and a cold start begins with nothing.
 */
import type { PoolSnapshot, Worker } from './types';

export interface WorkerRunSighting {
  readonly busy: boolean;
  /** Estimated start of the current run; undefined while idle or when unknown. */
  readonly since?: number;
  /** `availableAt` as last seen: when it changes, a run ended then. */
  readonly availableAt?: number;
}

export interface RunDurations {
  /** Epoch seconds of the last snapshot observed. */
  readonly at: number;
  readonly workers: Readonly<Record<string, WorkerRunSighting>>;
  /** Durations of the most recent runs seen from start to end, oldest first. */
  readonly samples: readonly number[];
}

/** Enough to follow a change in the mix of runs within an hour or two of a busy pool. */
export const MAX_SAMPLES = 200;
/** Fewer samples than this say too little about the runs: no busy worker counts as finishing soon. */
export const MIN_SAMPLES = 10;

/**
 * When the current run of a busy worker started, as far as two snapshots tell: the middle of the interval in which it
 * must have started, or undefined when nothing bounds it.
 */
function runStart(worker: Worker, before: WorkerRunSighting | undefined, previousAt: number | undefined, now: number): number | undefined {
  const endedSince = worker.availableAt !== undefined && worker.availableAt !== before?.availableAt;
  if (before?.busy === true && !endedSince) return before.since;
  if (previousAt === undefined) return undefined;
  // Idle before, a run ended in between, or registered in between (a new worker takes a queued run at once).
  let from: number | undefined;
  if (before !== undefined) from = endedSince ? Math.max(previousAt, worker.availableAt!) : previousAt;
  else if (worker.createdAt > previousAt) from = worker.createdAt;
  return from === undefined || from > now ? undefined : (from + now) / 2;
}

export function observeRunDurations(previous: RunDurations | undefined, pool: PoolSnapshot, now: number): RunDurations {
  if (previous !== undefined && !(now > previous.at)) return previous;
  const workers: Record<string, WorkerRunSighting> = {};
  const samples = [...(previous?.samples ?? [])];
  for (const worker of pool.workers) {
    const before = previous !== undefined && Object.hasOwn(previous.workers, worker.id) ? previous.workers[worker.id] : undefined;
    const availableAt = worker.availableAt;
    const ended = before?.busy === true && before.since !== undefined &&
      (!worker.busy || (availableAt !== undefined && availableAt !== before.availableAt));
    if (ended) {
      const end = availableAt !== undefined && availableAt <= now ? availableAt : now;
      if (end > before!.since!) samples.push(end - before!.since!);
    }
    const since = worker.busy ? runStart(worker, before, previous?.at, now) : undefined;
    workers[worker.id] = { busy: worker.busy, ...(since === undefined ? {} : { since }), ...(availableAt === undefined ? {} : { availableAt }) };
  }
  return { at: now, workers, samples: samples.slice(-MAX_SAMPLES) };
}

/**
 * Busy workers whose run will more likely than not end within `horizonSeconds`: among the past runs that lasted
 * longer than this one has so far, at least half ended within the horizon from here.
 */
export function finishingSoon(state: RunDurations | undefined, workers: readonly Worker[], now: number, horizonSeconds: number): number {
  if (state === undefined || horizonSeconds <= 0 || state.samples.length < MIN_SAMPLES) return 0;
  let count = 0;
  for (const worker of workers) {
    if (!worker.busy || worker.drained) continue;
    const since = Object.hasOwn(state.workers, worker.id) ? state.workers[worker.id].since : undefined;
    if (since === undefined) continue;
    const elapsed = Math.max(0, now - since);
    let longer = 0;
    let endingSoon = 0;
    for (const duration of state.samples) {
      if (duration <= elapsed) continue;
      longer++;
      if (duration <= elapsed + horizonSeconds) endingSoon++;
    }
    if (longer >= MIN_SAMPLES && endingSoon * 2 >= longer) count++;
  }
  return count;
}
