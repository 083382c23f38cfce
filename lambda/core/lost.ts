/**
 * Reclaims instances that lost their worker for good: a repair, like replacing a stray.
 *
 * A lost instance (registration.ts) had a worker of this group, has none in the snapshot, and no worker with
 * invalid metadata listed now may run on it. Its launcher wedged, or Spacelift removed the worker while the
 * process kept running; or the list omits a worker that is still there. It is not capacity, and as it is
 * protected from scale-in, nothing else ever removes it: lost instances would pile up to max size and stall
 * the pool. This plans them away, bounded on every side:
 *
 * - When: lost on every read for at least `lostReclaimSeconds`; a trusted read that shows its worker again, or a
 *   worker with invalid metadata that may be on it, starts the clock over. A failed read (registration.ts rule 2)
 *   never resets a clock, since it is no evidence that a worker is back, but it starts and runs them like any
 *   other read: otherwise a pool whose only registered instances all lost their workers would read as failed for
 *   good, nothing would ever repair it, and at max size its queued runs would wait forever. The default is the
 *   drain budget (80 min, longer than Spacelift's default run timeout): a list that omitted a live worker on every
 *   read for that long is no glitch, and if a run was still going, the lifecycle hook's drain waits for it.
 * - Memory: "lost since" lives in the container (`Plan.lostSince`, handed back as `DecisionInput.lostSince`).
 *   A cold start forgets it, which only delays a reclaim: the safe direction. Lambda recycles even busy
 *   environments only every few hours, so a reclaim happens within one recycle of being due.
 * - How: TerminateInstanceInAutoScalingGroup, so the termination lifecycle hook's drain still runs, after the
 *   executor's re-check against a fresh snapshot (as for strays). Only InService instances with a known launch
 *   time (the re-check needs it to rule out a worker with invalid metadata).
 * - Decrement: like a drained reclaim (reclaim.ts): with, while desired capacity stays at or above min size
 *   (the instance was never capacity, so the policy has already replaced it), else without.
 * - Cap: shares `maxStraysPerTick` with strays and drained reclaims, after both.
 * - Off when `reapStrays` is off (powerOffOnError false: failed instances are kept for debugging), or with
 *   `lostReclaimSeconds` 0 or `maxStraysPerTick` 0.
 */
import type { ScalingConfig } from './config';
import type { AsgInstance } from './types';

/** An instance to terminate through the lifecycle hook, its worker gone for `lostReclaimSeconds`. */
export interface LostReclaim {
  readonly instanceId: string;
  readonly launchTime: number;
  /** Epoch seconds since when every read has shown it lost. */
  readonly lostSince: number;
  /** `ShouldDecrementDesiredCapacity`. */
  readonly decrement: boolean;
}

/**
 * Since when each lost instance has been lost on every read: `previous` carried on, the instances lost for the
 * first time added at `now`, the others (worker back, or gone) dropped. A failed read drops no instance still in
 * the group (a worker missing from it is no sign of one back) but starts the clocks of the instances it shows lost.
 */
export function trackLost(
  previous: ReadonlyMap<string, number> | undefined,
  lost: readonly AsgInstance[],
  inGroup: readonly AsgInstance[],
  failedRead: boolean,
  now: number,
): ReadonlyMap<string, number> {
  if (failedRead) {
    const ids = new Set(inGroup.map((instance) => instance.id));
    const kept = new Map([...(previous ?? [])].filter(([id]) => ids.has(id)));
    for (const instance of lost) if (!kept.has(instance.id)) kept.set(instance.id, now);
    return kept;
  }
  return new Map(lost.map((instance) => [instance.id, previous?.get(instance.id) ?? now]));
}

export interface LostReclaimInput {
  readonly lost: readonly AsgInstance[];
  /** `trackLost` after this snapshot. */
  readonly lostSince: ReadonlyMap<string, number>;
  readonly config: Pick<ScalingConfig, 'lostReclaimSeconds' | 'maxStraysPerTick' | 'reapStrays'>;
  /** Repairs planned this tick before these (strays, drained reclaims). */
  readonly repairsPlanned: number;
  /** Room above min size left for decrements (after drained reclaims). */
  readonly decrementRoom: number;
  readonly now: number;
}

/** Longest lost first, at most the repairs left. */
export function planLostReclaims(input: LostReclaimInput): { reclaim: LostReclaim[]; reasons: string[] } {
  const { lost, config, now } = input;
  if (lost.length === 0) return { reclaim: [], reasons: [] };
  const seconds = config.lostReclaimSeconds;
  const summary = `${lost.length} lost instances (had a worker, none listed now)`;
  if (!config.reapStrays) {
    return { reclaim: [], reasons: [`${summary} kept: reapStrays is off (powerOffOnError false keeps failed instances)`] };
  }
  if (seconds === 0) return { reclaim: [], reasons: [`${summary} kept: lostReclaimSeconds is 0`] };
  if (config.maxStraysPerTick === 0) return { reclaim: [], reasons: [`${summary} kept: maxStraysPerTick is 0 (no repairs)`] };

  const due: { instance: AsgInstance; launchTime: number; since: number }[] = [];
  for (const instance of lost) {
    const since = input.lostSince.get(instance.id) ?? now;
    if (now - since >= seconds && instance.lifecycleState === 'InService' && instance.launchTime !== undefined) {
      due.push({ instance, launchTime: instance.launchTime, since });
    }
  }
  const reasons = [`${summary}: ${due.length} lost on every read for >= ${seconds}s, InService, of known launch time`];
  due.sort((a, b) => a.since - b.since || a.instance.id.localeCompare(b.instance.id));
  const cap = Math.max(0, config.maxStraysPerTick - input.repairsPlanned);
  const reclaim = due.slice(0, cap).map(({ instance, launchTime, since }, index): LostReclaim => ({
    instanceId: instance.id,
    launchTime,
    lostSince: since,
    decrement: index < input.decrementRoom,
  }));
  for (const entry of reclaim) {
    reasons.push(
      `reclaim lost ${entry.instanceId}: no worker on any read for ${now - entry.lostSince}s; terminate ` +
        `${entry.decrement ? 'with' : 'without'} decrement through the lifecycle hook (its drain still runs)`,
    );
  }
  if (due.length > reclaim.length) {
    reasons.push(
      `${due.length - reclaim.length} more lost instances left for later ticks (maxStraysPerTick ${config.maxStraysPerTick} ` +
        `repairs per tick, ${input.repairsPlanned} used by strays and drained reclaims)`,
    );
  }
  return { reclaim, reasons };
}
