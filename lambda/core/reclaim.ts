/**
 * Reclaims instances whose workers were all left drained: a repair, like replacing a stray.
 *
 * A drained worker gets no new runs, so the policy counts its instance neither as capacity nor as a
 * scale-in candidate nor as a stray. Normally a drain is short-lived: ours is followed within
 * seconds by a terminate or an undrain, and the drain handler's (lifecycle hook, spot warning) by
 * the instance leaving. But the undrain that follows a busy or failed drain of ours can fail, and a
 * retry lives only in the container's memory, which a cold start forgets; a rebalance
 * recommendation without capacity rebalancing, or a manual drain, never ends either. Such an
 * instance would bill and hold a max-size slot for good. This plans it away, from the snapshots
 * alone, so nothing depends on memory:
 *
 * - Which: an InService instance whose workers of this ASG are all drained and all idle, each for at
 *   least `drainedReclaimSeconds` (idle-since = `availableAt`, else `createdAt`). Not InService
 *   (booting, or already terminating through the lifecycle hook, whose drain is wanted): left alone.
 *   Any worker busy: left alone; it gets no new runs while drained, so it goes idle and its clock
 *   starts then.
 * - The clock is the idle time, because Spacelift gives no drain time. A worker drained after idling
 *   longer than the grace (e.g. a spot warning for a long-idle worker) therefore qualifies on the next
 *   tick. That is safe: it is idle and drained, and the executor re-checks both before terminating;
 *   at worst we terminate an instance EC2 was about to take anyway.
 * - Not subject to "capacity > demand": a drained instance is not capacity, so its termination never
 *   removes capacity. Nor to in-flight launches, for the same reason.
 * - Decrement: with, while desired capacity (after this plan's scale-out) stays at or above min size,
 *   so the capacity count, which never included the instance, stays right (a replacement would be a
 *   launch the policy did not decide). At min size: without, so the group replaces it: the min-size
 *   instances are the ones the user asked to keep, and a fresh worker beats a drained one. Reclaims
 *   get the room above min size before scale-in does: a drained instance serves nothing, an idle
 *   worker at least serves the next run.
 * - Cap: reclaims share `maxStraysPerTick` with stray replacement, as one "repairs per tick" budget
 *   (strays first). Both repair rare faults, and one cap bounds what a wrong snapshot can cost.
 * - Workers with invalid metadata are not considered: the instance already has a valid worker from
 *   its launcher, and a restarted launcher registers with the same metadata (scale-in makes the
 *   same assumption).
 *
 * A manual drain to investigate a worker is reclaimed too once the worker has idled that long: detach
 * the instance from the group instead (detached instances are never touched), or raise or disable
 * `drainedReclaimSeconds`.
 */
import type { DrainedInstance } from './capacity';
import type { Termination } from './scale-in';
import type { Worker } from './types';

export interface ReclaimInput {
  readonly drained: readonly DrainedInstance[];
  /** `drainedReclaimSeconds`; 0 disables. */
  readonly graceSeconds: number;
  /** `maxStraysPerTick`: repairs per tick, strays and reclaims together. */
  readonly maxRepairsPerTick: number;
  /** Strays planned this tick; they use the repairs budget first. */
  readonly straysPlanned: number;
  /** Desired capacity once this plan's scale-out is applied. */
  readonly desiredAfterScaleOut: number;
  readonly minSize: number;
  readonly now: number;
}

const idleSince = (worker: Worker) => worker.availableAt ?? worker.createdAt;

/** Oldest idle first, at most the repairs left; each terminated after the executor's re-check. */
export function planReclaims(input: ReclaimInput): { reclaim: Termination[]; reasons: string[] } {
  const { drained, graceSeconds, now } = input;
  if (drained.length === 0) return { reclaim: [], reasons: [] };
  const summary = `${drained.length} live instances have only drained workers (not capacity)`;
  if (graceSeconds === 0) return { reclaim: [], reasons: [`${summary}; left alone: drainedReclaimSeconds is 0`] };
  if (input.maxRepairsPerTick === 0) return { reclaim: [], reasons: [`${summary}; left alone: maxStraysPerTick is 0 (no repairs)`] };

  const eligible: { entry: DrainedInstance; since: number }[] = [];
  let notInService = 0;
  let busy = 0;
  let tooRecent = 0;
  for (const entry of drained) {
    if (entry.instance.lifecycleState !== 'InService') {
      notInService += 1;
    } else if (entry.workers.some((worker) => worker.busy)) {
      busy += 1;
    } else if (entry.workers.some((worker) => now - idleSince(worker) < graceSeconds)) {
      tooRecent += 1;
    } else {
      eligible.push({ entry, since: Math.max(...entry.workers.map(idleSince)) });
    }
  }
  const reasons = [
    `${summary}: ${eligible.length} drained and idle for >= ${graceSeconds}s, ${tooRecent} idle under ${graceSeconds}s, ` +
      `${busy} finishing a run, ${notInService} not InService`,
  ];
  if (eligible.length === 0) return { reclaim: [], reasons };

  eligible.sort((a, b) => a.since - b.since || a.entry.instance.id.localeCompare(b.entry.instance.id));
  const cap = Math.max(0, input.maxRepairsPerTick - input.straysPlanned);
  const room = Math.max(0, input.desiredAfterScaleOut - input.minSize);
  const reclaim = eligible.slice(0, cap).map(({ entry, since }, index): Termination => {
    // The newest worker first: with a restarted launcher, the one most likely to matter.
    const workers = [...entry.workers].sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
    return {
      kind: 'reclaim',
      workerId: workers[0].id,
      otherWorkerIds: workers.slice(1).map((worker) => worker.id),
      instanceId: entry.instance.id,
      idleSince: since,
      decrement: index < room,
    };
  });
  for (const entry of reclaim) {
    const workers = [entry.workerId, ...entry.otherWorkerIds].join(', ');
    reasons.push(
      `reclaim ${entry.instanceId}: worker ${workers} drained and idle ${now - entry.idleSince}s >= ${graceSeconds}s; ` +
        (entry.decrement
          ? 'terminate with decrement'
          : `terminate without decrement (desired ${input.desiredAfterScaleOut} would go below min size ${input.minSize}), the ASG replaces it`),
    );
  }
  if (eligible.length > reclaim.length) {
    reasons.push(
      `${eligible.length - reclaim.length} more drained instances left for later ticks (maxStraysPerTick ${input.maxRepairsPerTick} ` +
        `repairs per tick, ${input.straysPlanned} used by strays)`,
    );
  }
  return { reclaim, reasons };
}
