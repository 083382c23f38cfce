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
 *
 * Retained instances (`kind: 'releaseRetained'`) are released, without waiting for a grace. Auto Scaling retains
 * an instance when its termination's lifecycle action is abandoned: with this library, when the drain never
 * completed it (the drain failing, throttled out or dead-lettered), or a termination hook of the user's own ended
 * with ABANDON. Its run goes on, and the instance bills until someone terminates it. The release:
 * - A retained instance named by no worker of this ASG is left for a human (the RetainedInstances alarm): an empty
 *   or partial list cannot show it idle. So is one that a worker we cannot check may run on (one naming it under
 *   another group, or with invalid metadata registered after its launch), while that lasts.
 * - A worker on it that is not drained yet (the drain never reached it) keeps getting runs: the executor drains it
 *   at once, busy or not, and never undrains it. A drained worker that is busy finishes its run first.
 * - Once every worker on it is drained and idle, the executor re-checks each with a drain call and against a fresh
 *   snapshot, and asks Auto Scaling to terminate it, only on a tick after the one that drained it, and always
 *   without decrement: a retained instance is not part of desired capacity. Terminating it ends the retention, and
 *   goes through the termination lifecycle hook again (the drain's last check):
 *   https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RetentionTriggers.html
 * - Releases share the repairs cap; only `maxStraysPerTick: 0` turns them off. To keep a retained instance, detach
 *   it from the group (detached instances are never touched).
 */
import type { DrainedInstance, RetainedInstance } from './capacity';
import type { Termination } from './scale-in';
import type { Worker } from './types';

export interface ReclaimInput {
  readonly drained: readonly DrainedInstance[];
  readonly retained: readonly RetainedInstance[];
  /** Retained instances the executor will not act on yet (asked for, or drained, moments ago). */
  readonly releasesOnHold?: ReadonlySet<string>;
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

interface Eligible {
  readonly instanceId: string;
  readonly workers: readonly Worker[];
  readonly since: number;
  /** For a retained instance, whether a worker on it still needs the drain: then it is terminated on a later tick. */
  readonly retained?: { readonly toDrain: boolean };
}

/** Whether all `workers` are idle for the grace: `busy` and `tooRecent` count why not. */
function idleFor(workers: readonly Worker[], graceSeconds: number, now: number): 'busy' | 'tooRecent' | 'idle' {
  if (workers.some((worker) => worker.busy)) return 'busy';
  if (workers.some((worker) => now - idleSince(worker) < graceSeconds)) return 'tooRecent';
  return 'idle';
}

/** What a release does with a retained instance: drain its workers, terminate it, or leave it (and why). */
function retainedState(entry: RetainedInstance, onHold: ReadonlySet<string>): 'drain' | 'idle' | 'busy' | 'unnamed' | 'unmatched' | 'onHold' {
  if (onHold.has(entry.instance.id)) return 'onHold';
  if (entry.workers.length === 0) return 'unnamed';
  if (entry.unmatchedWorkerMayRun) return 'unmatched';
  if (entry.workers.some((worker) => !worker.drained)) return 'drain';
  return entry.workers.some((worker) => worker.busy) ? 'busy' : 'idle';
}

/**
 * Drained instances that are InService with workers idle past the grace, and retained instances to drain or
 * terminate; the summary lines say how many of each were held back and why.
 */
function eligibleFor(input: ReclaimInput): { eligible: Eligible[]; summaries: string[] } {
  const { drained, retained, graceSeconds, now } = input;
  const eligible: Eligible[] = [];
  const summaries: string[] = [];
  const since = (workers: readonly Worker[]) => Math.max(...workers.map(idleSince));
  if (drained.length > 0 && graceSeconds === 0) {
    summaries.push(`${drained.length} live instances have only drained workers (not capacity); left alone: drainedReclaimSeconds is 0`);
  } else if (drained.length > 0) {
    const held = { busy: 0, tooRecent: 0, notInService: 0 };
    for (const { instance, workers } of drained) {
      const state = instance.lifecycleState !== 'InService' ? 'notInService' : idleFor(workers, graceSeconds, now);
      if (state === 'idle') eligible.push({ instanceId: instance.id, workers, since: since(workers) });
      else held[state] += 1;
    }
    summaries.push(
      `${drained.length} live instances have only drained workers (not capacity): ${drained.length - held.busy - held.tooRecent - held.notInService} ` +
        `drained and idle for >= ${graceSeconds}s, ${held.tooRecent} idle under ${graceSeconds}s, ${held.busy} finishing a run, ` +
        `${held.notInService} not InService`,
    );
  }
  if (retained.length > 0) {
    const counts = { drain: 0, idle: 0, busy: 0, unnamed: 0, unmatched: 0, onHold: 0 };
    const onHold = input.releasesOnHold ?? new Set<string>();
    for (const entry of retained) {
      const state = retainedState(entry, onHold);
      counts[state] += 1;
      if (state === 'drain' || state === 'idle') {
        eligible.push({ instanceId: entry.instance.id, workers: entry.workers, since: since(entry.workers), retained: { toDrain: state === 'drain' } });
      }
    }
    summaries.push(
      `${retained.length} instances retained by Auto Scaling (billed, not capacity): ${counts.drain} with a worker to drain, ` +
        `${counts.idle} drained and idle, ${counts.busy} finishing a run, ${counts.unnamed} named by no worker (left for a human: ` +
        `the list cannot show them idle), ${counts.unmatched} that a worker we cannot check may run on (kept)` +
        (counts.onHold > 0 ? `, ${counts.onHold} asked for or drained moments ago (waiting)` : ''),
    );
  }
  return { eligible, summaries };
}

function noRepairsSummary(input: ReclaimInput, why: string): string[] {
  const lines: string[] = [];
  if (input.drained.length > 0) lines.push(`${input.drained.length} live instances have only drained workers (not capacity); left alone: ${why}`);
  if (input.retained.length > 0) lines.push(`${input.retained.length} instances retained by Auto Scaling; left alone: ${why}`);
  return lines;
}

/** Oldest idle first, at most the repairs left; each terminated after the executor's re-check. */
export function planReclaims(input: ReclaimInput): { reclaim: Termination[]; reasons: string[] } {
  const { graceSeconds, now } = input;
  if (input.drained.length === 0 && input.retained.length === 0) return { reclaim: [], reasons: [] };
  if (input.maxRepairsPerTick === 0) return { reclaim: [], reasons: noRepairsSummary(input, 'maxStraysPerTick is 0 (no repairs)') };

  const { eligible, summaries } = eligibleFor(input);
  const reasons = [...summaries];
  if (eligible.length === 0) return { reclaim: [], reasons };

  eligible.sort((a, b) => a.since - b.since || a.instanceId.localeCompare(b.instanceId));
  const cap = Math.max(0, input.maxRepairsPerTick - input.straysPlanned);
  let room = Math.max(0, input.desiredAfterScaleOut - input.minSize);
  const chosen = eligible.slice(0, cap);
  const reclaim = chosen.map((entry): Termination => {
    // The newest worker first: with a restarted launcher, the one most likely to matter.
    const workers = [...entry.workers].sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
    const decrement = entry.retained === undefined && room > 0;
    if (decrement) room -= 1;
    return {
      kind: entry.retained === undefined ? 'reclaim' : 'releaseRetained',
      workerId: workers[0].id,
      otherWorkerIds: workers.slice(1).map((worker) => worker.id),
      instanceId: entry.instanceId,
      idleSince: entry.since,
      decrement,
    };
  });
  for (const [index, entry] of reclaim.entries()) {
    const workers = [entry.workerId, ...entry.otherWorkerIds].join(', ');
    const retained = chosen[index].retained;
    if (retained !== undefined) {
      reasons.push(`release retained ${entry.instanceId}: worker ${workers} ` + (retained.toDrain
        ? 'not all drained: drain them now (busy or not); terminate without decrement on a later tick once drained and idle'
        : 'drained and idle: re-check, then terminate without decrement'));
    } else {
      reasons.push(
        `reclaim ${entry.instanceId}: worker ${workers} drained and idle ${now - entry.idleSince}s >= ${graceSeconds}s; ` +
          (entry.decrement
            ? 'terminate with decrement'
            : `terminate without decrement (desired ${input.desiredAfterScaleOut} would go below min size ${input.minSize}), the ASG replaces it`),
      );
    }
  }
  if (eligible.length > reclaim.length) {
    reasons.push(
      `${eligible.length - reclaim.length} more drained or retained instances left for later ticks (maxStraysPerTick ${input.maxRepairsPerTick} ` +
        `repairs per tick, ${input.straysPlanned} used by strays)`,
    );
  }
  return { reclaim, reasons };
}
