/**
 * The scaling decision for one tick: a pure function from snapshots to a plan the handler carries
 * out. Unlike Spacelift's `Decide`, it never freezes while instances boot (in-flight instances are
 * capacity), never lowers desired capacity, and only ever terminates chosen idle workers: surplus
 * ones, and ones left drained past `drainedReclaimSeconds` (reclaim.ts); and, as repairs, strays
 * (strays.ts), instances lost for `lostReclaimSeconds` (lost.ts), through the lifecycle hook, and
 * instances Auto Scaling retained, once their workers are drained and idle (reclaim.ts).
 */
import { arrivalRate, type ArrivalState } from './arrivals';
import { assessFleet, capacityOf, type FleetAssessment, type InvalidWorker } from './capacity';
import { validateScalingConfig, type ScalingConfig } from './config';
import { assessDemand } from './demand';
import { planBlindReclaim, planLostReclaims, trackLost, type BlindReclaimState, type LostReclaim } from './lost';
import { coverQueue } from './queue-cover';
import { planReclaims } from './reclaim';
import { partialList, readFailure } from './registration';
import { finishingSoon, type RunDurations } from './run-durations';
import type { DelayContext } from './scale-down-delay';
import { planScaleIn, type ScaleInPlan, type Termination } from './scale-in';
import { planScaleOut } from './scale-out';
import { planStrays, type StrayTermination } from './strays';
import type { AsgSnapshot, PoolSnapshot, Worker } from './types';

export interface DecisionInput {
  readonly pool: PoolSnapshot;
  readonly asg: AsgSnapshot;
  readonly config: ScalingConfig;
  /** Epoch seconds. */
  readonly now: number;
  /** Estimator state that has already observed `pool` (`observeArrivals`); undefined = neutral delay. */
  readonly arrivals?: ArrivalState;
  /**
   * Epoch seconds since when this process has been reading snapshots (a Lambda container's first tick);
   * undefined = long enough. Strays wait until it has watched for a whole registration grace (registration.ts).
   */
  readonly watchingSince?: number;
  /** The previous plan's `lostSince` in this process; undefined = nothing remembered (lost.ts). */
  readonly lostSince?: ReadonlyMap<string, number>;
  /** The previous plan's `blindReclaim` in this process; undefined = nothing remembered (lost.ts). */
  readonly blindReclaim?: BlindReclaimState;
  /** Run durations learnt so far, having observed `pool` (run-durations.ts); undefined = none. */
  readonly runDurations?: RunDurations;
  /** The previous plan's `queueCoveredSince` in this process (queue-cover.ts). */
  readonly queueCoveredSince?: number;
  /** Retained instances the executor will not act on yet: no release is planned for them (reclaim.ts). */
  readonly releasesOnHold?: ReadonlySet<string>;
}

export interface PlanCounts {
  /** Queued runs by the demand signal used. */
  readonly pending: number;
  /** Serving instances whose worker is busy. */
  readonly busy: number;
  /** Serving instances whose worker is idle. */
  readonly idle: number;
  /** Serving instances: live, in this ASG, with an undrained worker whose metadata names them. */
  readonly registered: number;
  /** Booting instances plus desired capacity not yet launched. */
  readonly launching: number;
  /** Part of `launching`: desired capacity the ASG has not created instances for yet. */
  readonly notYetLaunched: number;
  /** Every stray found, including those left for later ticks. */
  readonly strays: number;
  /** Live instances that had a worker and have none in this snapshot (registration.ts); reclaimed only after lostReclaimSeconds. */
  readonly lost: number;
  /** Live instances past the grace that had a worker and that a worker with invalid metadata may serve (registration.ts). */
  readonly unidentified: number;
  /** Strays counted as capacity: all of them while stray replacement is on (maxStraysPerTick > 0, reapStrays). */
  readonly replacingStrays: number;
  /** Live instances whose workers are all drained (including any this plan reclaims). */
  readonly drained: number;
  /** Part of `drained`: reclaims in this plan. */
  readonly reclaiming: number;
  /** Instances Auto Scaling retained (`Terminating:Retained`): billed, neither live nor capacity. */
  readonly retained: number;
  /** Part of `retained`: releases in this plan. */
  readonly releasing: number;
  /** registered + launching + replacingStrays + the unidentified instances counted as capacity. */
  readonly capacity: number;
  readonly minIdle: number;
  /** busy + pending + minIdle. */
  readonly demand: number;
  /** Busy workers whose run will likely end within `busyFinishingWithinSeconds`: capacity for queued runs only. */
  readonly finishingSoon: number;
  /** Desired capacity before this plan. */
  readonly desired: number;
  readonly min: number;
  readonly max: number;
}

export interface Plan {
  /** New desired capacity when scaling out: above the current one and within [min, max]. */
  readonly desiredCapacity?: number;
  readonly scaleOutBy: number;
  /**
   * Instances to terminate, in order, each after a drain that shows its worker idle: first reclaims
   * of instances left drained (`kind: 'reclaim'`) and releases of retained instances (`kind:
   * 'releaseRetained'`), repairs capped together by maxStraysPerTick, then scale-in of surplus idle
   * workers (`kind: 'scaleIn'`, capped by maxTerminatePerTick).
   */
  readonly terminate: readonly Termination[];
  /** Instances to terminate without decrementing desired capacity. */
  readonly strays: readonly StrayTermination[];
  /** Lost instances to terminate through the lifecycle hook after the strays' re-check (lost.ts). */
  readonly lostReclaims: readonly LostReclaim[];
  /** Since when each lost instance has been lost on every trusted read: hand it to the next tick's `decide`. */
  readonly lostSince: ReadonlyMap<string, number>;
  /** Failed reads and the last reclaim planned on one (lost.ts `planBlindReclaim`): hand it to the next tick's `decide`. */
  readonly blindReclaim: BlindReclaimState;
  /** Never drained or terminated; logged by the handler. */
  readonly invalidWorkers: readonly InvalidWorker[];
  /** Set when the snapshot is a failed read (registration.ts): the plan then has no terminations or strays. */
  readonly readFailure?: string;
  /** Set when the list misses a busy worker (registration.ts rule 3): no strays, lost or retained instances terminated. */
  readonly partialList?: string;
  readonly foreignWorkers: number;
  readonly scaleDownDelaySeconds: number;
  /** When an idle worker that scale-in waits for becomes eligible (its delay runs out); see next-tick.ts. */
  readonly nextScaleInAt?: number;
  readonly counts: PlanCounts;
  /** Work a tick soon could do that this one's caps left: idle workers beyond maxTerminatePerTick, strays beyond maxStraysPerTick. */
  readonly moreDue: boolean;
  /** Since when predictions have covered queued runs: hand it to the next tick's `decide` (queue-cover.ts). */
  readonly queueCoveredSince?: number;
  /** One line per decision taken or not taken. */
  readonly reasons: readonly string[];
}

function fleetReasons(fleet: FleetAssessment, capacity: number, asg: AsgSnapshot): string[] {
  const reasons = [
    `capacity ${capacity} = ${fleet.registered.length} registered + ${fleet.booting.length} booting + ` +
      `${fleet.notYetLaunched} not yet launched (desired ${asg.desiredCapacity}) + ${fleet.replacingStrays} strays to replace` +
      (fleet.unidentified.length > 0 ? ` + ${fleet.unidentifiedCapacity} served by workers with invalid metadata` : ''),
  ];
  if (fleet.invalidWorkers.length > 0) {
    reasons.push(`${fleet.invalidWorkers.length} workers with invalid metadata ignored (never drained or terminated)`);
  }
  if (fleet.foreignWorkers > 0) reasons.push(`${fleet.foreignWorkers} workers of other ASGs ignored`);
  if (fleet.lost.length > 0) {
    reasons.push(`${fleet.lost.length} instances had a worker and have none in this snapshot; kept, not capacity`);
  }
  if (fleet.unidentified.length > 0) {
    reasons.push(
      `${fleet.unidentified.length} instances had a worker and may now run one with invalid metadata; kept, ` +
        `${fleet.unidentifiedCapacity} counted as capacity (one per undrained worker with invalid metadata)`,
    );
  }
  if (fleet.detachedWorkers > 0) {
    reasons.push(`${fleet.detachedWorkers} workers name instances that are not live in ${asg.name}; not capacity`);
  }
  return reasons;
}

/** None on a failed read, nor before this process has watched for a whole grace (registration.ts). */
function strayPlan(input: DecisionInput, fleet: FleetAssessment, failure: string | undefined) {
  const { config, now } = input;
  if (failure !== undefined) return { strays: [], left: 0, reasons: [] };
  const watched = input.watchingSince === undefined ? Infinity : now - input.watchingSince;
  if (fleet.strays.length > 0 && watched < config.registrationGraceSeconds) {
    return {
      strays: [],
      left: 0,
      reasons: [`${fleet.strays.length} strays wait: this process has read snapshots for ${watched}s, less than the grace`],
    };
  }
  const options = { cap: config.maxStraysPerTick, graceSeconds: config.registrationGraceSeconds, reap: config.reapStrays };
  return planStrays(fleet.strays, options, now, input.pool.workers);
}

/**
 * Workers that can take a queued run of the pool: this group's serving workers, and those of other groups or with
 * invalid metadata (they serve the same pool). Not this group's workers on instances that are leaving or gone.
 */
function runCandidates(pool: PoolSnapshot, fleet: FleetAssessment, asgName: string): Worker[] {
  const serving = fleet.registered.flatMap((entry) => entry.workers);
  const others = pool.workers.filter((worker) => !worker.metadata.valid || worker.metadata.asgName !== asgName);
  return [...serving, ...others];
}

export function decide(input: DecisionInput): Plan {
  const { pool, asg, config, now } = input;
  validateScalingConfig(config);

  const failure = readFailure(pool, asg);
  // A partial list (registration.ts rule 3) stops what its missing busy worker could turn into a mistake.
  const partial = failure === undefined ? partialList(pool) : undefined;
  const unlisted = failure ?? partial;
  const fleet = assessFleet(pool, asg, now, {
    graceSeconds: config.registrationGraceSeconds,
    // A failed read replaces no stray, so none stands for the instance that would replace it: counting them would
    // hold back the scale-out that can still give a queued run its worker (and end the failed reads).
    replaceStrays: config.maxStraysPerTick > 0 && config.reapStrays && unlisted === undefined,
  });
  const capacity = capacityOf(fleet);
  const busy = fleet.registered.filter((entry) => entry.busy).length;
  const demand = assessDemand(pool, config, busy, now);
  const cover = coverQueue({
    queued: demand.queued,
    predicted: finishingSoon(input.runDurations, runCandidates(pool, fleet, asg.name), now, config.busyFinishingWithinSeconds),
    horizonSeconds: config.busyFinishingWithinSeconds,
    coveredSince: input.queueCoveredSince,
    readFailed: failure !== undefined,
    now,
  });
  const soon = cover.soon;
  const scaleOut = planScaleOut(asg, capacity + soon, demand.total, config.maxCreatePerTick);

  const strays = strayPlan(input, fleet, unlisted);
  const lostSince = trackLost(input.lostSince, fleet.lost, asg.instances, unlisted !== undefined, now);
  const reclaims = failure !== undefined ? { reclaim: [], reasons: [] } : planReclaims({
    drained: fleet.drained,
    retained: partial === undefined ? fleet.retained : [],
    releasesOnHold: input.releasesOnHold,
    graceSeconds: config.drainedReclaimSeconds,
    maxRepairsPerTick: config.maxStraysPerTick,
    straysPlanned: strays.strays.length,
    desiredAfterScaleOut: scaleOut.desiredCapacity ?? asg.desiredCapacity,
    minSize: asg.minSize,
    now,
  });
  const reclaimDecrements = reclaims.reclaim.filter((entry) => entry.decrement).length;
  const desiredAfterScaleOut = scaleOut.desiredCapacity ?? asg.desiredCapacity;
  const decrementRoom = Math.max(0, desiredAfterScaleOut - asg.minSize - reclaimDecrements);
  const blind = planBlindReclaim({
    previous: input.blindReclaim,
    failedRead: failure !== undefined,
    lost: fleet.lost,
    config,
    queued: demand.queued,
    atMaxSize: desiredAfterScaleOut >= asg.maxSize,
    decrementRoom,
    now,
  });
  const lost = failure !== undefined ? blind : partial !== undefined ? { reclaim: [], reasons: [] } : planLostReclaims({
    lost: fleet.lost,
    lostSince,
    config,
    repairsPlanned: strays.strays.length + reclaims.reclaim.length,
    decrementRoom,
    now,
  });

  const delayContext: DelayContext = {
    arrivalsPerSecond: arrivalRate(input.arrivals),
    idleWorkers: pool.workers.filter((worker) => !worker.busy && !worker.drained).length,
  };
  const delaySeconds = config.scaleDownDelay.secondsFor(delayContext);
  const scaleIn: ScaleInPlan = failure !== undefined ? { terminate: [], reasons: [failure] } : planScaleIn({
    fleet,
    asg,
    capacity,
    demand: demand.total,
    delaySeconds,
    maxTerminatePerTick: config.maxTerminatePerTick,
    now,
    reservedDecrements: reclaimDecrements + lost.reclaim.filter((entry) => entry.decrement).length,
  });

  return {
    desiredCapacity: scaleOut.desiredCapacity,
    scaleOutBy: (scaleOut.desiredCapacity ?? asg.desiredCapacity) - asg.desiredCapacity,
    terminate: [...reclaims.reclaim, ...scaleIn.terminate],
    strays: strays.strays,
    lostReclaims: lost.reclaim,
    lostSince,
    blindReclaim: blind.state,
    invalidWorkers: fleet.invalidWorkers,
    ...(failure === undefined ? {} : { readFailure: failure }),
    ...(partial === undefined ? {} : { partialList: partial }),
    foreignWorkers: fleet.foreignWorkers,
    scaleDownDelaySeconds: delaySeconds,
    moreDue: scaleIn.capped === true || strays.left > 0,
    ...(cover.coveredSince === undefined ? {} : { queueCoveredSince: cover.coveredSince }),
    ...(scaleIn.nextEligibleAt === undefined ? {} : { nextScaleInAt: scaleIn.nextEligibleAt }),
    counts: {
      pending: demand.queued,
      busy,
      idle: fleet.registered.length - busy,
      registered: fleet.registered.length,
      launching: fleet.booting.length + fleet.notYetLaunched,
      notYetLaunched: fleet.notYetLaunched,
      strays: fleet.strays.length,
      lost: fleet.lost.length,
      unidentified: fleet.unidentified.length,
      replacingStrays: fleet.replacingStrays,
      drained: fleet.drainedInstances,
      reclaiming: reclaims.reclaim.filter((entry) => entry.kind === 'reclaim').length,
      retained: fleet.retained.length,
      releasing: reclaims.reclaim.filter((entry) => entry.kind === 'releaseRetained').length,
      capacity,
      minIdle: demand.minIdle,
      demand: demand.total,
      finishingSoon: soon,
      desired: asg.desiredCapacity,
      min: asg.minSize,
      max: asg.maxSize,
    },
    reasons: [
      ...fleetReasons(fleet, capacity, asg),
      ...(partial === undefined ? [] : [`${partial}: no stray, lost or retained instance terminated this tick`]),
      ...demand.reasons,
      ...cover.reasons,
      ...scaleOut.reasons,
      config.scaleDownDelay.explain(delayContext),
      ...scaleIn.reasons,
      ...strays.reasons,
      ...reclaims.reasons,
      ...lost.reasons,
    ],
  };
}
