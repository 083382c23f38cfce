import { inFlight, type FleetAssessment } from './capacity';
import type { AsgSnapshot } from './types';

/**
 * Why an instance is terminated:
 * - `scaleIn`: its idle worker is surplus capacity (`planScaleIn`);
 * - `reclaim`: all its workers were left drained and idle past `drainedReclaimSeconds`, so it serves
 *   nothing (`planReclaims`);
 * - `releaseRetained`: Auto Scaling retained it after a drain never completed its termination; its workers are
 *   drained at once and it is terminated once they are drained and idle (`planReclaims`, autoscaler/release-retained.ts).
 */
export type TerminationKind = 'scaleIn' | 'reclaim' | 'releaseRetained';

/**
 * A worker to drain and, if it is still idle after the drain, terminate. For a reclaim the worker is
 * already drained: the drain call changes nothing and returns its fresh state, which is the re-check.
 */
export interface Termination {
  readonly kind: TerminationKind;
  readonly workerId: string;
  /** Reclaims only: the instance's other drained workers, re-checked the same way. Empty for scale-in. */
  readonly otherWorkerIds: readonly string[];
  readonly instanceId: string;
  /** `availableAt`, or `createdAt` when the API gave no idle-since. */
  readonly idleSince: number;
  /** `ShouldDecrementDesiredCapacity`. */
  readonly decrement: boolean;
}

export interface ScaleInInput {
  readonly fleet: FleetAssessment;
  readonly asg: AsgSnapshot;
  readonly capacity: number;
  readonly demand: number;
  readonly delaySeconds: number;
  readonly maxTerminatePerTick: number;
  readonly now: number;
  /** Decrements already planned by reclaims this tick; they use up the room above min size first. */
  readonly reservedDecrements?: number;
}

interface Candidate {
  readonly termination: Termination;
  /** Tie-breaker between equal idle-since times: the older registration goes first. */
  readonly createdAt: number;
}

/**
 * Picks idle workers to release, oldest idle first (Spacelift schedules onto the newest idle
 * workers, so the oldest idle one is the least likely to get the next run). Only when capacity
 * exceeds demand and nothing is in flight: a launch decided for earlier demand is not undone, and
 * the surplus is re-checked once it has registered.
 */
export interface ScaleInPlan {
  readonly terminate: Termination[];
  /**
   * When the next idle worker's delay runs out, if scale-in waits only for that (surplus capacity, nothing in flight,
   * room above min size): the time at which a tick would release it.
   */
  readonly nextEligibleAt?: number;
  /** More workers could be released now than maxTerminatePerTick let this tick take. */
  readonly capped?: boolean;
  readonly reasons: string[];
}

export function planScaleIn(input: ScaleInInput): ScaleInPlan {
  const { fleet, asg, capacity, demand, delaySeconds, now } = input;
  const none = (reason: string) => ({ terminate: [], reasons: [`no scale in: ${reason}`] });
  const excess = capacity - demand;
  if (excess <= 0) return none(`capacity ${capacity} does not exceed demand ${demand}`);
  const coming = inFlight(fleet);
  if (coming > 0) {
    return none(
      `${coming} in flight (${fleet.booting.length} booting, ${fleet.notYetLaunched} not yet launched, ` +
        `${fleet.replacingStrays} strays to replace)`,
    );
  }
  // Every termination decrements desired capacity; one that did not would just be replaced. Reclaims
  // decrement first: a drained instance serves nothing, an idle worker at least serves the next run.
  const reserved = input.reservedDecrements ?? 0;
  const room = asg.desiredCapacity - asg.minSize - reserved;
  if (room <= 0) {
    const after = reserved > 0 ? ` after ${reserved} reclaim decrements` : '';
    return none(`desired ${asg.desiredCapacity}${after} is at min size ${asg.minSize}`);
  }
  if (input.maxTerminatePerTick === 0) return none('maxTerminatePerTick is 0');

  const idle = fleet.registered.filter((entry) => !entry.busy);
  const candidates: Candidate[] = [];
  let tooRecent = 0;
  let nextEligibleAt: number | undefined;
  let notInService = 0;
  let shared = 0;
  for (const { instance, workers } of idle) {
    if (workers.length > 1) {
      // A restarted launcher (or a drain in progress) left several workers: draining one would not
      // stop the other from taking a run on the instance we terminate.
      shared += 1;
      continue;
    }
    // Scale-in protection is not a reason to skip: the pool protects every instance so that the
    // ASG never picks victims itself, and TerminateInstanceInAutoScalingGroup (our only way to
    // remove a worker, after draining it) is not subject to protection.
    if (instance.lifecycleState !== 'InService') {
      notInService += 1;
      continue;
    }
    const worker = workers[0];
    const idleSince = worker.availableAt ?? worker.createdAt;
    if (now - idleSince < delaySeconds) {
      tooRecent += 1;
      nextEligibleAt = Math.min(nextEligibleAt ?? Infinity, idleSince + delaySeconds);
      continue;
    }
    candidates.push({
      termination: { kind: 'scaleIn', workerId: worker.id, otherWorkerIds: [], instanceId: instance.id, idleSince, decrement: true },
      createdAt: worker.createdAt,
    });
  }
  if (candidates.length === 0) {
    return {
      ...none(
        `${idle.length} idle, none eligible (${tooRecent} idle under ${delaySeconds}s, ` +
          `${notInService} not InService, ${shared} with several workers)`,
      ),
      ...(nextEligibleAt === undefined ? {} : { nextEligibleAt }),
    };
  }

  candidates.sort(
    (a, b) =>
      a.termination.idleSince - b.termination.idleSince ||
      a.createdAt - b.createdAt ||
      a.termination.workerId.localeCompare(b.termination.workerId),
  );
  const count = Math.min(input.maxTerminatePerTick, excess, room, candidates.length);
  const capped = count === input.maxTerminatePerTick && count < Math.min(excess, room, candidates.length);
  const chosen = candidates.slice(0, count).map((candidate) => candidate.termination);
  const reasons = [
    `scale in: capacity ${capacity} exceeds demand ${demand} by ${excess}; ${candidates.length} eligible, ` +
      `terminating ${count} (maxTerminatePerTick ${input.maxTerminatePerTick}, ${room} above min size)`,
    ...chosen.map(
      (entry) =>
        `drain and terminate worker ${entry.workerId} on ${entry.instanceId}: idle ${now - entry.idleSince}s >= ${delaySeconds}s`,
    ),
  ];
  return { terminate: chosen, ...(capped ? { capped } : {}), reasons };
}
