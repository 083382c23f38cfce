/**
 * Carries out a Plan through the two ports. Every step is bounded (one call, or one retry where stated, on top of
 * the clients' own retries) and ends in a log line; a failure is counted and the next step still runs.
 *
 * Safety rules:
 * - Desired capacity is only ever raised: shrinking the group by SetDesiredCapacity would let AWS pick victims.
 * - A stray is terminated only if a fresh pool snapshot, taken after the plan, still shows no worker that could be
 *   on it: a launcher that registers late may already have a run.
 * - A worker is terminated only after a drain that reported it idle; a busy reply, or a termination that fails,
 *   undrains it again, so no worker is left drained by us.
 * - Every undrain stays pending (in this container) until a later tick's pool snapshot shows the worker
 *   undrained: a failed undrain, or a timed-out drain request that Spacelift applies after our undrain, would
 *   otherwise leave the worker drained for good. The policy neither counts nor picks a drained worker's instance,
 *   so until then the cost is one idle instance, never a run. While the worker is still drained on an InService
 *   instance, each tick undrains it once more; once the worker is gone or its instance leaves InService (e.g. it
 *   is terminating, and its drain is wanted), the undrain is dropped. A cold start forgets pending undrains: the
 *   UndrainFailures metric and the error log name the worker, and DrainedInstances shows it.
 *
 * Every TerminateInstanceInAutoScalingGroup also passes the ASG's termination lifecycle hook, whose drain handler
 * waits for busy workers: the checks here keep that last line of defence from ever being needed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isMinSizeRejection } from '../aws/fleet';
import type { Plan } from '../core/decide';
import type { DrainResult, Fleet, WorkerPoolApi } from '../core/ports';
import type { Termination } from '../core/scale-in';
import { invalidWorkerMayRunOn, type StrayTermination } from '../core/strays';
import type { AsgSnapshot, PoolSnapshot } from '../core/types';
import { SpaceliftApiError } from '../spacelift';

export type AutoscalerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface ExecutorDeps {
  readonly workerPool: WorkerPoolApi;
  readonly fleet: Fleet;
  readonly logger: AutoscalerLogger;
  /**
   * No drain starts with less invocation time left than this: a drain cut off by the Lambda timeout would leave
   * the worker drained with nobody to undrain it.
   */
  readonly drainReserveMs: number;
}

export interface Execution {
  /** Instances added to desired capacity. */
  scaledOut: number;
  /** Idle workers drained and their instances terminated. */
  terminated: number;
  /** Workers that took a run before the drain: undrained and kept. */
  drainSkippedBusy: number;
  straysReaped: number;
  /** Strays left alone because the re-check found a worker that may be on them. */
  straysSkipped: number;
  /** Undrains that failed (each is also an error); retried on later ticks. */
  undrainFailures: number;
  errors: number;
}

export interface ExecutionInput {
  readonly plan: Plan;
  /** The snapshots the plan was made from; pending undrains are checked against them (no extra reads). */
  readonly pool: PoolSnapshot;
  readonly asg: AsgSnapshot;
  /** Milliseconds left in the invocation (`context.getRemainingTimeInMillis`). */
  readonly timeLeftMs: () => number;
}

export interface Executor {
  /** Settles the undrains pending from earlier ticks, then carries out the plan. */
  execute(input: ExecutionInput): Promise<Execution>;
  /** Workers we undrained, or failed to, that no snapshot has shown undrained yet. */
  pendingUndrains(): readonly string[];
}

/**
 * Whether a failed workerDrainSet may still have changed the worker: the request may have reached the server
 * (timeout, dropped connection, server error, unreadable reply). A GraphQL or auth rejection, or 429, did not.
 */
function mayHaveApplied(error: unknown): boolean {
  if (!(error instanceof SpaceliftApiError)) return true;
  switch (error.kind) {
    case 'timeout':
    case 'network':
    case 'malformed':
      return true;
    case 'http':
      return error.status === undefined || error.status >= 500;
    default:
      return false;
  }
}

export function createExecutor(deps: ExecutorDeps): Executor {
  const { workerPool, fleet, logger } = deps;
  /** Worker id → the instance it was on when we drained it. */
  const pending = new Map<string, string>();

  async function undrain(workerId: string, instanceId: string, why: string, result: Execution): Promise<void> {
    pending.set(workerId, instanceId);
    try {
      await workerPool.undrain(workerId);
      logger.info('undrained worker', { workerId, instanceId, why });
    } catch (error) {
      result.undrainFailures++;
      result.errors++;
      logger.error(
        'UNDRAIN FAILED: worker is left drained (no new runs, not capacity); the undrain is retried on the next tick',
        { workerId, instanceId, why, error },
      );
    }
  }

  async function scaleOut(plan: Plan, result: Execution): Promise<void> {
    const target = plan.desiredCapacity;
    if (target === undefined) return;
    const current = plan.counts.desired;
    if (target <= current) {
      // The policy never plans this; refusing here keeps a bug from letting AWS choose which workers to kill.
      result.errors++;
      logger.error('refusing to set desired capacity at or below the current one', { current, target });
      return;
    }
    try {
      await fleet.setDesiredCapacity(target);
      result.scaledOut = target - current;
      logger.info('raised desired capacity', { from: current, to: target });
    } catch (error) {
      result.errors++;
      logger.error('could not raise desired capacity; the next tick decides again', { from: current, to: target, error });
    }
  }

  async function reapStrays(strays: readonly StrayTermination[], result: Execution): Promise<void> {
    if (strays.length === 0) return;
    let fresh: PoolSnapshot;
    try {
      fresh = await workerPool.snapshot();
    } catch (error) {
      result.errors++;
      logger.error('could not re-check strays against a fresh pool snapshot; none terminated this tick', {
        instanceIds: strays.map((s) => s.instanceId),
        error,
      });
      return;
    }
    for (const stray of strays) {
      const context = { instanceId: stray.instanceId, launchTime: stray.launchTime };
      const worker = fresh.workers.find((w) => w.metadata.valid && w.metadata.instanceId === stray.instanceId);
      if (worker !== undefined) {
        result.straysSkipped++;
        logger.info('stray registered a worker since the plan; not terminating it', {
          ...context,
          workerId: worker.id,
          busy: worker.busy,
        });
        continue;
      }
      if (invalidWorkerMayRunOn(stray.launchTime, fresh.workers)) {
        result.straysSkipped++;
        logger.info('a worker with invalid metadata registered after the stray launched and may run on it; not terminating it', context);
        continue;
      }
      try {
        await fleet.terminateInstance(stray.instanceId, false);
        result.straysReaped++;
        logger.warn('terminated stray instance (no worker after the grace period); the ASG replaces it', context);
      } catch (error) {
        result.errors++;
        logger.error('could not terminate stray instance', { ...context, error });
      }
    }
  }

  /** Terminates after a successful drain; on failure the worker is undrained. */
  async function terminateDrained(termination: Termination, result: Execution): Promise<void> {
    const { workerId, instanceId } = termination;
    let failure: unknown;
    try {
      await fleet.terminateInstance(instanceId, termination.decrement);
      result.terminated++;
      logger.info('terminated idle worker instance', { workerId, instanceId, decrement: termination.decrement });
      return;
    } catch (error) {
      failure = error;
    }
    if (termination.decrement && isMinSizeRejection(failure)) {
      // Min size was raised since the plan. The worker is already drained and idle, so replacing the instance
      // costs one boot, while undraining would keep an instance the policy already judged surplus.
      logger.warn('group is at min size, so AWS refused to decrement; terminating without decrement (the ASG replaces it)', {
        workerId,
        instanceId,
        error: failure,
      });
      try {
        await fleet.terminateInstance(instanceId, false);
        result.terminated++;
        logger.info('terminated idle worker instance', { workerId, instanceId, decrement: false });
        return;
      } catch (error) {
        failure = error;
      }
    }
    result.errors++;
    logger.error('could not terminate drained worker instance; undraining the worker', { workerId, instanceId, error: failure });
    await undrain(workerId, instanceId, 'termination failed', result);
  }

  async function drainAndTerminate(termination: Termination, result: Execution): Promise<void> {
    const { workerId, instanceId } = termination;
    let reply: DrainResult;
    try {
      reply = await workerPool.drain(workerId);
    } catch (error) {
      result.errors++;
      const applied = mayHaveApplied(error);
      logger.error('could not drain worker; skipping it', { workerId, instanceId, error, mayHaveApplied: applied });
      if (applied) await undrain(workerId, instanceId, 'the failed drain may have been applied', result);
      return;
    }
    if (reply.worker.busy) {
      result.drainSkippedBusy++;
      logger.info('worker took a run before the drain; undraining it and keeping its instance', { workerId, instanceId });
      await undrain(workerId, instanceId, 'busy when drained', result);
      return;
    }
    if (!reply.worker.drained) {
      result.errors++;
      logger.error('drain reply shows the worker undrained; not terminating its instance', { workerId, instanceId });
      return;
    }
    await terminateDrained(termination, result);
  }

  async function settlePendingUndrains(pool: PoolSnapshot, asg: AsgSnapshot, result: Execution): Promise<void> {
    for (const [workerId, instanceId] of [...pending]) {
      const worker = pool.workers.find((w) => w.id === workerId);
      const instance = asg.instances.find((i) => i.id === instanceId);
      let settled: string | undefined;
      if (worker === undefined) settled = 'the worker is gone';
      else if (!worker.drained) settled = 'the snapshot shows the worker undrained';
      else if (instance?.lifecycleState !== 'InService') settled = 'the instance is leaving the group, so its drain is wanted';
      if (settled !== undefined) {
        pending.delete(workerId);
        logger.debug('undrain settled', { workerId, instanceId, why: settled });
        continue;
      }
      await undrain(workerId, instanceId, 'still drained after an earlier undrain (failed, or overtaken by a late drain)', result);
    }
  }

  return {
    async execute({ plan, pool, asg, timeLeftMs }) {
      const result: Execution = {
        scaledOut: 0,
        terminated: 0,
        drainSkippedBusy: 0,
        straysReaped: 0,
        straysSkipped: 0,
        undrainFailures: 0,
        errors: 0,
      };
      await settlePendingUndrains(pool, asg, result);
      await scaleOut(plan, result);
      await reapStrays(plan.strays, result);
      for (const [index, termination] of plan.terminate.entries()) {
        const left = timeLeftMs();
        if (left < deps.drainReserveMs) {
          logger.info('too little invocation time left to drain safely; later ticks continue the scale-in', {
            timeLeftMs: left,
            drainReserveMs: deps.drainReserveMs,
            skipped: plan.terminate.slice(index).map((t) => t.workerId),
          });
          break;
        }
        await drainAndTerminate(termination, result);
      }
      return result;
    },

    pendingUndrains: () => [...pending.keys()],
  };
}
