/**
 * One autoscaler tick: read both sides, decide, act, report. A tick never throws: whatever fails is logged and
 * counted, and the next tick starts over from fresh snapshots.
 *
 * Calls per steady tick: one Spacelift snapshot and one DescribeAutoScalingGroups, in parallel. EC2 is asked for
 * launch times and registration tags only for instances no worker of this ASG names (the only ones that can be
 * strays), and tags an instance once, when its worker is first seen (core/registration.ts); a stray re-check adds
 * one snapshot, and each planned action its own calls.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { observeArrivals, type ArrivalState } from '../core/arrivals';
import { RETAINED_STATE } from '../core/capacity';
import type { ScalingConfig } from '../core/config';
import { decide, type Plan } from '../core/decide';
import type { BlindReclaimState } from '../core/lost';
import type { Fleet, InstanceFacts, WorkerPoolApi } from '../core/ports';
import { claimedInstances, instancesToRemember } from '../core/registration';
import { observeRunDurations, type RunDurations } from '../core/run-durations';
import type { AsgSnapshot, PoolSnapshot } from '../core/types';
import { ALARM_METRICS, AutoscalerMetric, METRICS_DIMENSION, type AutoscalerMetricsLevel } from '../shared/metrics';
import type { AutoscalerLogger, Executor } from './execute';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools `Metrics` the autoscaler uses. */
export interface AutoscalerMetrics {
  addDimension(name: string, value: string): unknown;
  addMetric(name: string, unit: Unit, value: number): unknown;
  publishStoredMetrics(): unknown;
}

export { AutoscalerMetric, METRICS_DIMENSION, METRICS_NAMESPACE } from '../shared/metrics';

export interface TickDeps {
  readonly workerPool: WorkerPoolApi;
  readonly fleet: Fleet;
  readonly executor: Executor;
  readonly asgName: string;
  readonly scaling: ScalingConfig;
  /** Which metrics to send (shared/metrics.ts). */
  readonly metricsLevel: AutoscalerMetricsLevel;
  readonly logger: AutoscalerLogger;
  readonly metrics: AutoscalerMetrics;
  /** Epoch seconds. */
  readonly clock: () => number;
}

/** What one container remembers between ticks; a cold start begins again with nothing. */
export interface TickState {
  arrivals?: ArrivalState;
  /** Instances seen with a worker of this group (or tagged so), and whether their registration tag is written. */
  registrations?: Map<string, boolean>;
  /** Epoch seconds of this container's first snapshot. */
  watchingSince?: number;
  /** Since when each lost instance has been lost on every trusted read (core/lost.ts). */
  lostSince?: ReadonlyMap<string, number>;
  /** Failed reads in a row and the last reclaim planned on one (core/lost.ts `planBlindReclaim`). */
  blindReclaim?: BlindReclaimState;
  runDurations?: RunDurations;
  /** Since when predictions have covered queued runs (core/queue-cover.ts). */
  queueCoveredSince?: number;
}

export interface TickOutcome {
  /** False when the tick stopped early (a snapshot or an unexpected failure); the plan was not carried out. */
  readonly completed: boolean;
  readonly errors: number;
  /** The plan carried out, when the tick got that far. */
  readonly plan?: Plan;
}

export async function runTick(deps: TickDeps, state: TickState, timeLeftMs: () => number): Promise<TickOutcome> {
  const { logger, metrics } = deps;
  // Only non-zero values, and by default only what the alarms read: CloudWatch bills a custom metric for every hour
  // in which it receives data (shared/metrics.ts). Alarms treat missing data as not breaching.
  const count = (name: string, value: number) => {
    if (value !== 0 && (deps.metricsLevel === 'all' || ALARM_METRICS.has(name))) metrics.addMetric(name, MetricUnit.Count, value);
  };
  metrics.addDimension(METRICS_DIMENSION, deps.asgName);
  let errors = 0;
  try {
    const [pool, described] = await Promise.all([deps.workerPool.snapshot(), deps.fleet.describe()]);
    const { asg, failed } = await withInstanceFacts(deps, state, pool, described);
    errors += failed;
    const now = deps.clock();
    state.arrivals = observeArrivals(state.arrivals, pool, now);
    state.runDurations = observeRunDurations(state.runDurations, pool, now);
    state.watchingSince ??= now;

    const plan = decide({
      pool,
      asg,
      config: deps.scaling,
      now,
      arrivals: state.arrivals,
      watchingSince: state.watchingSince,
      lostSince: state.lostSince,
      blindReclaim: state.blindReclaim,
      runDurations: state.runDurations,
      queueCoveredSince: state.queueCoveredSince,
      releasesOnHold: deps.executor.releasesOnHold(),
    });
    state.lostSince = plan.lostSince;
    state.blindReclaim = plan.blindReclaim;
    state.queueCoveredSince = plan.queueCoveredSince;
    logPlan(logger, plan);
    const done = await deps.executor.execute({ plan, pool, asg, timeLeftMs });
    errors += done.errors;

    const { counts } = plan;
    count(AutoscalerMetric.PendingRuns, counts.pending);
    count(AutoscalerMetric.BusyWorkers, counts.busy);
    count(AutoscalerMetric.IdleWorkers, counts.idle);
    count(AutoscalerMetric.RegisteredWorkers, counts.registered);
    count(AutoscalerMetric.PoolWorkers, pool.workers.length);
    count(AutoscalerMetric.LaunchingInstances, counts.launching);
    count(AutoscalerMetric.FinishingSoon, counts.finishingSoon);
    count(AutoscalerMetric.DesiredCapacity, counts.desired);
    count(AutoscalerMetric.DrainedInstances, counts.drained);
    count(AutoscalerMetric.RetainedInstances, counts.retained);
    count(AutoscalerMetric.InvalidWorkers, plan.invalidWorkers.length);
    count(AutoscalerMetric.StrayInstances, counts.strays);
    count(AutoscalerMetric.LostWorkerInstances, counts.lost);
    count(AutoscalerMetric.FailedReads, plan.readFailure === undefined && plan.partialList === undefined ? 0 : 1);
    count(AutoscalerMetric.ScaledOut, done.scaledOut);
    count(AutoscalerMetric.Terminated, done.terminated);
    count(AutoscalerMetric.DrainSkippedBusy, done.drainSkippedBusy);
    count(AutoscalerMetric.DrainedReclaimed, done.drainedReclaimed);
    count(AutoscalerMetric.RetainedReleased, done.retainedReleased);
    count(AutoscalerMetric.StraysReaped, done.straysReaped);
    count(AutoscalerMetric.LostReclaimed, done.lostReclaimed);
    count(AutoscalerMetric.UndrainFailures, done.undrainFailures);
    logger.info('tick done', { ...done, errors });
    return { completed: true, errors, plan };
  } catch (error) {
    errors++;
    logger.error('tick failed; the next tick starts again from fresh snapshots', { error });
    return { completed: false, errors };
  } finally {
    count(AutoscalerMetric.Errors, errors);
    metrics.publishStoredMetrics();
  }
}

/**
 * Adds EC2 launch times and registration (tag, or this container's memory) to the instances without a worker of
 * this ASG, and tags the instances whose worker is seen for the first time. If EC2 cannot be read, launch times
 * stay unknown, which the policy treats as launching: no stray is reaped on a guess. A failed tag write is retried
 * next tick; meanwhile the container's memory stands in for it. Returns the number of failed calls.
 */
async function withInstanceFacts(
  deps: TickDeps,
  state: TickState,
  pool: PoolSnapshot,
  asg: AsgSnapshot,
): Promise<{ asg: AsgSnapshot; failed: number }> {
  const claimed = claimedInstances(pool, asg.name);
  const memory = state.registrations ?? new Map<string, boolean>();
  state.registrations = memory;
  const inGroup = new Set(asg.instances.map((instance) => instance.id));
  for (const id of memory.keys()) if (!inGroup.has(id)) memory.delete(id);

  // Retained instances too: their launch time says which workers with invalid metadata may run on them (a release
  // waits for any that may), and there are few of them.
  const unclaimed = asg.instances
    .filter((instance) => !claimed.has(instance.id) || instance.lifecycleState === RETAINED_STATE).map((instance) => instance.id);
  const facts = await readFacts(deps, unclaimed);
  for (const [id, fact] of facts ?? []) if (fact.registered) memory.set(id, true);
  const instances = asg.instances.map((instance) => {
    const fact = facts?.get(instance.id);
    return fact === undefined ? instance : { ...instance, launchTime: fact.launchTime };
  });
  for (const id of instancesToRemember(pool, { ...asg, instances })) if (!memory.has(id)) memory.set(id, false);
  const tagFailed = await writeTags(deps, memory);
  const withMemory = instances.map((instance) =>
    claimed.has(instance.id) || !memory.has(instance.id) ? instance : { ...instance, registered: true });
  return { asg: { ...asg, instances: withMemory }, failed: (facts === undefined ? 1 : 0) + (tagFailed ? 1 : 0) };
}

/** Undefined when EC2 could not be read. */
async function readFacts(deps: TickDeps, ids: readonly string[]): Promise<ReadonlyMap<string, InstanceFacts> | undefined> {
  if (ids.length === 0) return new Map();
  try {
    return await deps.fleet.instanceFacts(ids);
  } catch (error) {
    deps.logger.warn('could not read EC2 launch times; instances without a worker count as launching this tick', {
      instanceIds: ids,
      error,
    });
    return undefined;
  }
}

/** Tags the remembered instances whose tag is not written yet; true when that failed. */
async function writeTags(deps: TickDeps, memory: Map<string, boolean>): Promise<boolean> {
  const untagged = [...memory].filter(([, tagged]) => !tagged).map(([id]) => id);
  if (untagged.length === 0) return false;
  try {
    await deps.fleet.markRegistered(untagged);
    for (const id of untagged) memory.set(id, true);
    return false;
  } catch (error) {
    deps.logger.warn('could not tag instances as registered; retried next tick (this container remembers them)', {
      instanceIds: untagged,
      error,
    });
    return true;
  }
}

function logPlan(logger: AutoscalerLogger, plan: Plan): void {
  logger.info('scaling plan', {
    counts: plan.counts,
    scaleOutBy: plan.scaleOutBy,
    terminate: plan.terminate.map(({ kind, workerId, instanceId, decrement }) => ({ kind, workerId, instanceId, decrement })),
    strays: plan.strays.map((stray) => stray.instanceId),
    scaleDownDelaySeconds: plan.scaleDownDelaySeconds,
    reasons: plan.reasons,
  });
  if (plan.readFailure !== undefined) {
    logger.warn('the pool snapshot looks wrong; nothing is removed this tick', { reason: plan.readFailure });
  }
  // One line per tick for all of them, so a misconfigured launcher is visible without flooding the log.
  if (plan.invalidWorkers.length > 0) {
    logger.warn('workers with invalid metadata: never drained or terminated; fix the launcher metadata', {
      invalidWorkers: plan.invalidWorkers,
    });
  }
}
