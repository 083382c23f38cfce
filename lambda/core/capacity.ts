/**
 * Matches workers to the ASG's instances and counts capacity: everything that serves runs now or
 * will soon without us launching anything more.
 */
import { invalidWorkerMayRunOn } from './strays';
import type { AsgInstance, AsgSnapshot, PoolSnapshot, Worker } from './types';

/** States in which an instance counts toward the ASG's desired capacity; warm pool (`Warmed:*`) states never do. */
const LIVE_STATES: ReadonlySet<string> = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);

/**
 * The lifecycle state of an instance Auto Scaling retained after its termination's lifecycle action was abandoned
 * (the drain never completed it): not live, not counted in desired capacity, billed until terminated.
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/manage-retained-instances.html
 */
export const RETAINED_STATE = 'Terminating:Retained';

export function isLive(instance: AsgInstance): boolean {
  return LIVE_STATES.has(instance.lifecycleState);
}

export interface InvalidWorker {
  readonly workerId: string;
  readonly reason: string;
}

/** A live instance with at least one undrained worker of this ASG. */
export interface RegisteredInstance {
  readonly instance: AsgInstance;
  /** Every worker of this ASG naming the instance, drained ones included. */
  readonly workers: readonly Worker[];
  readonly busy: boolean;
}

/** A live instance whose workers of this ASG are all drained: neither capacity nor a stray. */
export interface DrainedInstance {
  readonly instance: AsgInstance;
  /** Every worker of this ASG naming the instance; all drained, at least one. */
  readonly workers: readonly Worker[];
}

/** An instance in `RETAINED_STATE`: not live, billed, released by `planReclaims` once its workers are drained and idle. */
export interface RetainedInstance {
  readonly instance: AsgInstance;
  /** Every worker of this ASG naming the instance, drained or not; empty when the list names none. */
  readonly workers: readonly Worker[];
  /**
   * A worker we cannot check may run on it: one whose metadata names it under another group, or one with invalid
   * metadata registered at or after its launch (any, when the launch time is unknown).
   */
  readonly unmatchedWorkerMayRun: boolean;
}

/** A live instance that has run for the whole grace period without any worker naming it, ever. */
export interface StrayInstance {
  readonly instance: AsgInstance;
  readonly launchTime: number;
}

export interface FleetAssessment {
  /** Instances serving runs. One per instance even if a restarted launcher left a second worker. */
  readonly registered: readonly RegisteredInstance[];
  /**
   * Live instances without a worker, within the grace period or of unknown age, including those that had one
   * (a young instance whose worker a list omits, or one a worker with invalid metadata may have run on).
   */
  readonly booting: readonly AsgInstance[];
  /** Desired capacity the ASG has not turned into instances yet: max(0, desired - live instances). */
  readonly notYetLaunched: number;
  /** Oldest first. */
  readonly strays: readonly StrayInstance[];
  /**
   * Live instances past the grace without a worker now that had one before (`registered`), and that no worker with
   * invalid metadata listed now may run on: the worker died or the snapshot omitted it. Neither capacity nor strays;
   * reclaimed only once lost for `lostReclaimSeconds` (lost.ts).
   */
  readonly lost: readonly AsgInstance[];
  /**
   * Live instances past the grace that had a worker, have none of this group now, and that a worker with
   * invalid metadata listed now may run on (registration.ts): most likely served by a worker we cannot match.
   * Never strays, never lost, never terminated.
   */
  readonly unidentified: readonly AsgInstance[];
  /**
   * The part of `unidentified` that counts as capacity: one per instance, but no more than there are undrained
   * workers with invalid metadata to serve on them.
   */
  readonly unidentifiedCapacity: number;
  /** Strays that will be replaced one for one: all of them, unless stray replacement is off. */
  readonly replacingStrays: number;
  /**
   * Live instances whose only workers are drained: neither capacity nor strays. Usually being
   * handled (a drain before a termination); `planReclaims` repairs those left drained.
   */
  readonly drained: readonly DrainedInstance[];
  /** `drained.length`. */
  readonly drainedInstances: number;
  /** Instances Auto Scaling retained after a drain never completed their termination: neither live nor capacity. */
  readonly retained: readonly RetainedInstance[];
  /** Workers of this ASG whose instance is gone, terminating, retained or otherwise not live. */
  readonly detachedWorkers: number;
  readonly invalidWorkers: readonly InvalidWorker[];
  /** Workers that belong to another ASG serving the same pool. */
  readonly foreignWorkers: number;
}

export interface FleetOptions {
  readonly graceSeconds: number;
  /** Whether strays get replaced (`maxStraysPerTick > 0` and `reapStrays`); if not, they are dead weight, not capacity. */
  readonly replaceStrays: boolean;
}

export function assessFleet(pool: PoolSnapshot, asg: AsgSnapshot, now: number, options: FleetOptions): FleetAssessment {
  const invalidWorkers: InvalidWorker[] = [];
  let foreignWorkers = 0;
  const claims = new Map<string, Worker[]>();
  for (const worker of pool.workers) {
    const metadata = worker.metadata;
    if (!metadata.valid) {
      invalidWorkers.push({ workerId: worker.id, reason: metadata.reason });
    } else if (metadata.asgName !== asg.name) {
      foreignWorkers += 1;
    } else {
      claims.set(metadata.instanceId, [...(claims.get(metadata.instanceId) ?? []), worker]);
    }
  }

  const registered: RegisteredInstance[] = [];
  const booting: AsgInstance[] = [];
  const strays: StrayInstance[] = [];
  const drained: DrainedInstance[] = [];
  const lost: AsgInstance[] = [];
  const unidentified: AsgInstance[] = [];
  const retained: RetainedInstance[] = [];
  let liveInstances = 0;
  let claimedLiveWorkers = 0;
  for (const instance of asg.instances) {
    if (instance.lifecycleState === RETAINED_STATE) {
      const foreignClaim = pool.workers.some((worker) =>
        worker.metadata.valid && worker.metadata.asgName !== asg.name && worker.metadata.instanceId === instance.id);
      retained.push({
        instance,
        workers: claims.get(instance.id) ?? [],
        unmatchedWorkerMayRun: foreignClaim || invalidWorkerMayRunOn(instance.launchTime, pool.workers),
      });
    }
    if (!isLive(instance)) continue;
    liveInstances += 1;
    const workers = claims.get(instance.id) ?? [];
    claimedLiveWorkers += workers.length;
    const serving = workers.filter((worker) => !worker.drained);
    if (serving.length > 0) {
      registered.push({ instance, workers, busy: serving.some((worker) => worker.busy) });
    } else if (workers.length > 0) {
      drained.push({ instance, workers });
    } else if (instance.launchTime !== undefined && now - instance.launchTime < options.graceSeconds) {
      // Within the grace even if it had a worker: the tag may be an inference (a worker with invalid metadata that
      // may have run on it, registration.ts), and a young instance whose worker a list omits is as likely booting.
      booting.push(instance);
    } else if (instance.registered === true && !invalidWorkerMayRunOn(instance.launchTime, pool.workers)) {
      lost.push(instance);
    } else if (instance.launchTime === undefined) {
      booting.push(instance);
    } else if (instance.registered === true) {
      unidentified.push(instance);
    } else {
      strays.push({ instance, launchTime: instance.launchTime });
    }
  }
  strays.sort((a, b) => a.launchTime - b.launchTime || a.instance.id.localeCompare(b.instance.id));

  const thisAsgWorkers = pool.workers.length - invalidWorkers.length - foreignWorkers;
  const servingInvalid = pool.workers.filter((worker) => !worker.metadata.valid && !worker.drained).length;
  return {
    registered,
    booting,
    notYetLaunched: Math.max(0, asg.desiredCapacity - liveInstances),
    strays,
    lost,
    unidentified,
    unidentifiedCapacity: Math.min(unidentified.length, servingInvalid),
    replacingStrays: options.replaceStrays ? strays.length : 0,
    drained,
    drainedInstances: drained.length,
    retained,
    detachedWorkers: thisAsgWorkers - claimedLiveWorkers,
    invalidWorkers,
    foreignWorkers,
  };
}

/**
 * Work that is coming without any action from us: instances booting, desired capacity not yet
 * launched, and strays being replaced (one for one, as they are terminated without decrement).
 */
export function inFlight(fleet: FleetAssessment): number {
  return fleet.booting.length + fleet.notYetLaunched + fleet.replacingStrays;
}

/**
 * Serving instances plus everything in flight. Counting in-flight work is what keeps the policy
 * from launching the same instance twice on consecutive ticks, and from freezing while the worker
 * count differs from desired capacity. Counting strays means a broken boot (bad token, no egress)
 * churns one replacement at a time instead of growing the fleet to max size. Counting instances
 * that workers with invalid metadata serve means a launcher that writes bad metadata does not grow
 * it either (registration.ts).
 */
export function capacityOf(fleet: FleetAssessment): number {
  return fleet.registered.length + fleet.unidentifiedCapacity + inFlight(fleet);
}
