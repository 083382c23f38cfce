/**
 * Reclaims instances that lost their worker for good: a repair, like replacing a stray.
 *
 * A lost instance (registration.ts) had a worker of this group, has none in the snapshot, and no worker with
 * invalid metadata listed now may run on it. Its launcher wedged, or Spacelift removed the worker while the
 * process kept running; or the list omits a worker that is still there. It is not capacity, and as it is
 * protected from scale-in, nothing else ever removes it: lost instances would pile up to max size and stall
 * the pool. This plans them away, bounded on every side:
 *
 * - When: lost on every trusted read (not a failed read) for at least `lostReclaimSeconds`; a read that shows
 *   its worker again, or a worker with invalid metadata that may be on it, starts the clock over. A failed read
 *   neither advances nor resets it (it is no evidence either way). The default is the drain budget (80 min,
 *   longer than Spacelift's default run timeout): a list that omitted a live worker on every read for that long
 *   is no glitch. The lifecycle hook's drain waits for a worker it can see busy; one the list still omits, it
 *   cannot see.
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
  /** Epoch seconds since when every trusted read has shown it lost. */
  readonly lostSince: number;
  /** `ShouldDecrementDesiredCapacity`. */
  readonly decrement: boolean;
}

/**
 * Since when each lost instance has been lost on every trusted read: `previous` carried on, the instances lost
 * for the first time added at `now`, the others (worker back, or gone) dropped. A failed read changes nothing but
 * forgets instances that left the group.
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
    return new Map([...(previous ?? [])].filter(([id]) => ids.has(id)));
  }
  return new Map(lost.map((instance) => [instance.id, previous?.get(instance.id) ?? now]));
}

/** Only InService instances of known launch time: the executor's re-check needs it to rule out a worker with invalid metadata. */
function reclaimable(instance: AsgInstance): instance is AsgInstance & { readonly launchTime: number } {
  return instance.lifecycleState === 'InService' && instance.launchTime !== undefined;
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
    if (now - since >= seconds && reclaimable(instance)) {
      due.push({ instance, launchTime: instance.launchTime, since });
    }
  }
  const reasons = [`${summary}: ${due.length} lost on every trusted read for >= ${seconds}s, InService, of known launch time`];
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
      `reclaim lost ${entry.instanceId}: no worker on any trusted read for ${now - entry.lostSince}s; terminate ` +
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

/**
 * The one exception to "a failed read removes nothing" (registration.ts rule 2), for liveness. A pool whose every
 * registered instance lost its worker (a launcher that wedged, or a worker Spacelift removed while the instance
 * kept running) reads as failed on every tick from then on: nothing above repairs it, and at max size its queued
 * runs would wait forever. So when reads have failed without a break for `lostReclaimSeconds`, runs are queued and
 * the group is at max size (no scale-out can help), one lost instance is reclaimed through the lifecycle hook, and
 * then no other for another `lostReclaimSeconds`. One is enough for liveness: its slot launches an instance whose
 * worker, once it registers, makes reads trusted again, and the others then follow the rules above. And one bounds
 * the harm if the list is wrong instead (Spacelift answering no workers for that long while they are busy): one
 * instance per `lostReclaimSeconds`, not the fleet, since the drain cannot protect a worker the list omits.
 * Memory lives in the container, like `lostSince`: a cold start forgets it, which only delays the reclaim.
 */
export interface BlindReclaimState {
  /** Epoch seconds since when every read has been a failed read; undefined after a trusted read. */
  readonly failingSince?: number;
  /** Epoch seconds of the last lost instance planned for reclaim on a failed read. */
  readonly lastReclaimAt?: number;
}

export interface BlindReclaimInput {
  readonly previous: BlindReclaimState | undefined;
  readonly failedRead: boolean;
  readonly lost: readonly AsgInstance[];
  readonly config: Pick<ScalingConfig, 'lostReclaimSeconds' | 'maxStraysPerTick' | 'reapStrays'>;
  /** Runs waiting for a worker. */
  readonly queued: number;
  /** Desired capacity after this tick's scale-out has reached max size. */
  readonly atMaxSize: boolean;
  /** Room above min size left for a decrement. */
  readonly decrementRoom: number;
  readonly now: number;
}

export function planBlindReclaim(input: BlindReclaimInput): { reclaim: LostReclaim[]; state: BlindReclaimState; reasons: string[] } {
  const { previous, config, now } = input;
  const lastReclaimAt = previous?.lastReclaimAt;
  const kept = (failingSince?: number): BlindReclaimState => ({
    ...(failingSince === undefined ? {} : { failingSince }),
    ...(lastReclaimAt === undefined ? {} : { lastReclaimAt }),
  });
  if (!input.failedRead) return { reclaim: [], state: kept(), reasons: [] };
  const failingSince = previous?.failingSince ?? now;
  const seconds = config.lostReclaimSeconds;
  const enabled = config.reapStrays && seconds > 0 && config.maxStraysPerTick > 0;
  const due = enabled && now - failingSince >= seconds && input.queued > 0 && input.atMaxSize
    && (lastReclaimAt === undefined || now - lastReclaimAt >= seconds);
  const candidate = due
    ? [...input.lost]
      .filter(reclaimable)
      .sort((a, b) => a.launchTime - b.launchTime || a.id.localeCompare(b.id))[0]
    : undefined;
  if (candidate === undefined) return { reclaim: [], state: kept(failingSince), reasons: [] };
  const reclaim: LostReclaim = {
    instanceId: candidate.id,
    launchTime: candidate.launchTime,
    lostSince: failingSince,
    decrement: input.decrementRoom > 0,
  };
  return {
    reclaim: [reclaim],
    state: { failingSince, lastReclaimAt: now },
    reasons: [
      `reads have failed for ${now - failingSince}s with ${input.queued} runs queued at max size: reclaim lost ${candidate.id} ` +
        `through the lifecycle hook, and no other on a failed read for ${seconds}s`,
    ],
  };
}
