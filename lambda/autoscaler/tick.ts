/**
 * One autoscaler tick: read both sides, decide, act, report. A tick never throws: whatever fails is logged and
 * counted, and the next tick starts over from fresh snapshots.
 *
 * Calls per steady tick: one Spacelift snapshot and one DescribeAutoScalingGroups, in parallel. EC2 is asked for
 * launch times only for instances no worker of this ASG names (the only ones that can be strays); a stray
 * re-check adds one snapshot, and each planned action its own calls.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { observeArrivals, type ArrivalState } from '../core/arrivals';
import type { ScalingConfig } from '../core/config';
import { decide, type Plan } from '../core/decide';
import type { Fleet, WorkerPoolApi } from '../core/ports';
import type { AsgSnapshot, PoolSnapshot } from '../core/types';
import type { AutoscalerLogger, Executor } from './execute';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools `Metrics` the autoscaler uses. */
export interface AutoscalerMetrics {
  addDimension(name: string, value: string): unknown;
  addMetric(name: string, unit: Unit, value: number): unknown;
  publishStoredMetrics(): unknown;
}

export { METRICS_NAMESPACE } from '../shared/spacelift-env';

export const AutoscalerMetric = {
  PendingRuns: 'PendingRuns',
  BusyWorkers: 'BusyWorkers',
  IdleWorkers: 'IdleWorkers',
  RegisteredWorkers: 'RegisteredWorkers',
  LaunchingInstances: 'LaunchingInstances',
  DesiredCapacity: 'DesiredCapacity',
  /**
   * Live instances whose workers are all drained (neither capacity nor scale-in candidates), as the tick's snapshot
   * shows them: briefly non-zero around drains; those left drained are reclaimed once idle for
   * drainedReclaimSeconds. Non-zero for longer than that plus a few minutes means a reclaim is off
   * (DRAINED_RECLAIM_SECONDS 0, MAX_STRAYS_PER_TICK 0), failing (see Errors), or waiting for a drained worker's run.
   */
  DrainedInstances: 'DrainedInstances',
  InvalidWorkers: 'InvalidWorkers',
  ScaledOut: 'ScaledOut',
  Terminated: 'Terminated',
  DrainSkippedBusy: 'DrainSkippedBusy',
  /** Instances left drained that this tick terminated (reclaimed). */
  DrainedReclaimed: 'DrainedReclaimed',
  StraysReaped: 'StraysReaped',
  UndrainFailures: 'UndrainFailures',
  Errors: 'Errors',
} as const;

export const METRICS_DIMENSION = 'AutoScalingGroupName';

export interface TickDeps {
  readonly workerPool: WorkerPoolApi;
  readonly fleet: Fleet;
  readonly executor: Executor;
  readonly asgName: string;
  readonly scaling: ScalingConfig;
  readonly logger: AutoscalerLogger;
  readonly metrics: AutoscalerMetrics;
  /** Epoch seconds. */
  readonly clock: () => number;
}

/** What one container remembers between ticks; a cold start begins again with nothing. */
export interface TickState {
  arrivals?: ArrivalState;
}

export interface TickOutcome {
  /** False when the tick stopped early (a snapshot or an unexpected failure); the plan was not carried out. */
  readonly completed: boolean;
  readonly errors: number;
}

export async function runTick(deps: TickDeps, state: TickState, timeLeftMs: () => number): Promise<TickOutcome> {
  const { logger, metrics } = deps;
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  metrics.addDimension(METRICS_DIMENSION, deps.asgName);
  let errors = 0;
  try {
    const [pool, described] = await Promise.all([deps.workerPool.snapshot(), deps.fleet.describe()]);
    const { asg, failed } = await withLaunchTimes(deps, pool, described);
    if (failed) errors++;
    const now = deps.clock();
    state.arrivals = observeArrivals(state.arrivals, pool, now);

    const plan = decide({ pool, asg, config: deps.scaling, now, arrivals: state.arrivals });
    logPlan(logger, plan);
    const done = await deps.executor.execute({ plan, pool, asg, timeLeftMs });
    errors += done.errors;

    const { counts } = plan;
    count(AutoscalerMetric.PendingRuns, counts.pending);
    count(AutoscalerMetric.BusyWorkers, counts.busy);
    count(AutoscalerMetric.IdleWorkers, counts.idle);
    count(AutoscalerMetric.RegisteredWorkers, counts.registered);
    count(AutoscalerMetric.LaunchingInstances, counts.launching);
    count(AutoscalerMetric.DesiredCapacity, counts.desired);
    count(AutoscalerMetric.DrainedInstances, counts.drained);
    count(AutoscalerMetric.InvalidWorkers, plan.invalidWorkers.length);
    count(AutoscalerMetric.ScaledOut, done.scaledOut);
    count(AutoscalerMetric.Terminated, done.terminated);
    count(AutoscalerMetric.DrainSkippedBusy, done.drainSkippedBusy);
    count(AutoscalerMetric.DrainedReclaimed, done.drainedReclaimed);
    count(AutoscalerMetric.StraysReaped, done.straysReaped);
    count(AutoscalerMetric.UndrainFailures, done.undrainFailures);
    logger.info('tick done', { ...done, errors });
    return { completed: true, errors };
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
 * Adds EC2 launch times to the instances without a worker of this ASG. If EC2 cannot be read they stay unknown,
 * which the policy treats as launching: no stray is reaped on a guess.
 */
async function withLaunchTimes(
  deps: TickDeps,
  pool: PoolSnapshot,
  asg: AsgSnapshot,
): Promise<{ asg: AsgSnapshot; failed: boolean }> {
  const claimed = new Set<string>();
  for (const worker of pool.workers) {
    if (worker.metadata.valid && worker.metadata.asgName === asg.name) claimed.add(worker.metadata.instanceId);
  }
  const unclaimed = asg.instances.filter((instance) => !claimed.has(instance.id)).map((instance) => instance.id);
  if (unclaimed.length === 0) return { asg, failed: false };
  try {
    const times = await deps.fleet.launchTimes(unclaimed);
    const instances = asg.instances.map((instance) => {
      const launchTime = times.get(instance.id);
      return launchTime === undefined ? instance : { ...instance, launchTime };
    });
    return { asg: { ...asg, instances }, failed: false };
  } catch (error) {
    deps.logger.warn('could not read EC2 launch times; instances without a worker count as launching this tick', {
      instanceIds: unclaimed,
      error,
    });
    return { asg, failed: true };
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
  // One line per tick for all of them, so a misconfigured launcher is visible without flooding the log.
  if (plan.invalidWorkers.length > 0) {
    logger.warn('workers with invalid metadata: never drained or terminated; fix the launcher metadata', {
      invalidWorkers: plan.invalidWorkers,
    });
  }
}
