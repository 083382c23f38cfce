/**
 * Carries out a Plan through the two ports. Every step is bounded (one call, or one retry where stated, on top of
 * the clients' own retries) and ends in a log line; a failure is counted and the next step still runs.
 *
 * Safety rules:
 * - Desired capacity is only ever raised: shrinking the group by SetDesiredCapacity would let AWS pick victims.
 * - A stray, or an instance lost for lostReclaimSeconds (core/lost.ts), is terminated only if a fresh pool snapshot,
 *   taken after the plan, still shows no worker that could be on it (a launcher that registers late may already
 *   have a run; a lost worker may be listed again), and is not a failed read itself (core/registration.ts). Both
 *   are terminated without a drain of ours; the lifecycle hook's drain still runs.
 * - A worker is terminated only after a drain that reported it idle (and drained). In a scale-in, a busy reply
 *   undrains it again, so no worker is left drained by us. So does a termination that fails, but only if a fresh
 *   describe shows the instance still InService: a refresh or a person may have started terminating it meanwhile,
 *   and a reopened worker on a host that is shutting down would take a run and die with it. If the describe
 *   fails, the undrain is left pending, and the next tick decides from its own describe.
 * - Every undrain stays pending (in this container) until a later tick's pool snapshot shows the worker
 *   undrained: a failed undrain, or a timed-out drain request that Spacelift applies after our undrain, would
 *   otherwise leave the worker drained. While the worker is still drained on an InService instance, each tick
 *   undrains it once more; once the worker is gone or its instance leaves InService (e.g. it is terminating, and
 *   its drain is wanted), the undrain is dropped. A cold start forgets pending undrains; the policy's reclaim is
 *   the backstop that needs no memory (below).
 * - A reclaim (an instance whose workers were all left drained and idle past drainedReclaimSeconds) re-checks
 *   each worker with the usual drain call, a no-op on a drained worker that returns its fresh state, and
 *   terminates only if every one is still drained and idle. A busy one (it cannot get a new run while drained,
 *   so only an undrain race makes this happen) is left drained: its run finishes, and a later tick reclaims it.
 *   A reclaim is never undrained on failure: the worker was drained before us, and the next tick, from a fresh
 *   snapshot, tries again. A pending undrain of this container wins over a reclaim: it is retried first, and a
 *   worker it undrained this tick is not reclaimed; one whose undrain failed again is reclaimed (the
 *   snapshot already showed it drained and idle past the grace).
 * - A release of a retained instance (release-retained.ts) drains its workers, never undrains them, and asks for the
 *   termination only on a later tick, after a fresh snapshot shows every worker naming it drained and idle.
 *
 * Every TerminateInstanceInAutoScalingGroup also passes the ASG's termination lifecycle hook, whose drain handler
 * waits for busy workers: the checks here keep that last line of defence from ever being needed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isMinSizeRejection } from '../aws/fleet';
import type { Plan } from '../core/decide';
import type { LostReclaim } from '../core/lost';
import type { DrainResult, Fleet, WorkerPoolApi } from '../core/ports';
import { readFailure } from '../core/registration';
import type { Termination } from '../core/scale-in';
import { invalidWorkerMayRunOn, type StrayTermination } from '../core/strays';
import type { AsgSnapshot, PoolSnapshot } from '../core/types';
import { SpaceliftApiError } from '../spacelift';
import { createRetainedReleaser } from './release-retained';

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
  /** Seconds. */
  readonly clock: () => number;
}

export interface Execution {
  /** Instances added to desired capacity. */
  scaledOut: number;
  /** Idle workers drained and their instances terminated. */
  terminated: number;
  /** Workers that took a run before the drain: undrained and kept. */
  drainSkippedBusy: number;
  /** Instances left drained that were reclaimed (terminated after the re-check). */
  drainedReclaimed: number;
  /** Retained instances whose termination was requested after the drain and re-checks (release-retained.ts). */
  retainedReleased: number;
  /**
   * Reclaims and releases not carried out: a pending undrain won, or the re-check found a worker busy, undrained or
   * unreachable.
   */
  reclaimsSkipped: number;
  straysReaped: number;
  /** Strays left alone because the re-check found a worker that may be on them, or was a failed read. */
  straysSkipped: number;
  /** Lost instances terminated (through the lifecycle hook) after the re-check. */
  lostReclaimed: number;
  /** Lost instances left alone because the re-check found a worker that may be on them, or was a failed read. */
  lostSkipped: number;
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
  /** Retained instances not to plan a release for yet (release-retained.ts `onHold`). */
  releasesOnHold(): ReadonlySet<string>;
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
  const releaser = createRetainedReleaser(deps);

  /** True when the undrain call succeeded. */
  async function undrain(workerId: string, instanceId: string, why: string, result: Execution): Promise<boolean> {
    pending.set(workerId, instanceId);
    try {
      await workerPool.undrain(workerId);
      logger.info('undrained worker', { workerId, instanceId, why });
      return true;
    } catch (error) {
      result.undrainFailures++;
      result.errors++;
      logger.error(
        'UNDRAIN FAILED: worker is left drained (no new runs, not capacity); the undrain is retried on the next tick',
        { workerId, instanceId, why, error },
      );
      return false;
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

  /**
   * Strays and lost instances, terminated without a drain of ours (the lifecycle hook's drain still runs), each
   * only if one fresh pool snapshot, taken for all of them, is no failed read and shows no worker that may be on it.
   * The exception: a lost instance planned on a failed read (core/lost.ts `planBlindReclaim`, one per
   * lostReclaimSeconds of failed reads), for which a failed re-check is what was expected.
   */
  async function repair(plan: Plan, asg: AsgSnapshot, result: Execution): Promise<void> {
    const { strays, lostReclaims } = plan;
    if (strays.length === 0 && lostReclaims.length === 0) return;
    const instanceIds = [...strays, ...lostReclaims].map((entry) => entry.instanceId);
    let fresh: PoolSnapshot;
    try {
      fresh = await workerPool.snapshot();
    } catch (error) {
      result.errors++;
      logger.error('could not re-check strays and lost instances against a fresh pool snapshot; none terminated this tick', {
        instanceIds,
        error,
      });
      return;
    }
    const failure = readFailure(fresh, asg);
    // A plan made on a failed read holds only the blind reclaim (no strays): a failed re-check is what it expects.
    const blind = plan.readFailure !== undefined && strays.length === 0;
    if (failure !== undefined && !blind) {
      result.straysSkipped += strays.length;
      result.lostSkipped += lostReclaims.length;
      logger.warn('the re-check snapshot for strays and lost instances is a failed read; none terminated this tick', {
        instanceIds,
        reason: failure,
      });
      return;
    }
    for (const stray of strays) await reapStray(stray, fresh, result);
    for (const lost of lostReclaims) await reclaimLost(lost, fresh, result);
  }

  /** A worker in `fresh` whose metadata names the instance. */
  const claimant = (fresh: PoolSnapshot, instanceId: string) =>
    fresh.workers.find((w) => w.metadata.valid && w.metadata.instanceId === instanceId);

  async function reapStray(stray: StrayTermination, fresh: PoolSnapshot, result: Execution): Promise<void> {
    const context = { instanceId: stray.instanceId, launchTime: stray.launchTime };
    const worker = claimant(fresh, stray.instanceId);
    if (worker !== undefined) {
      result.straysSkipped++;
      logger.info('stray registered a worker since the plan; not terminating it', {
        ...context,
        workerId: worker.id,
        busy: worker.busy,
      });
      return;
    }
    if (invalidWorkerMayRunOn(stray.launchTime, fresh.workers)) {
      result.straysSkipped++;
      logger.info('a worker with invalid metadata registered after the stray launched and may run on it; not terminating it', context);
      return;
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

  async function reclaimLost(lost: LostReclaim, fresh: PoolSnapshot, result: Execution): Promise<void> {
    const context = { instanceId: lost.instanceId, lostSince: lost.lostSince, decrement: lost.decrement };
    const worker = claimant(fresh, lost.instanceId);
    if (worker !== undefined) {
      result.lostSkipped++;
      logger.info('the lost instance\'s worker is listed again; not terminating it', { ...context, workerId: worker.id, busy: worker.busy });
      return;
    }
    if (invalidWorkerMayRunOn(lost.launchTime, fresh.workers)) {
      result.lostSkipped++;
      logger.info('a worker with invalid metadata may run on the lost instance; not terminating it', context);
      return;
    }
    const { ok, failure } = await terminateWithFallback({ kind: 'lost', ...lost }, result);
    if (!ok) {
      // Counted as an error; the next tick plans it again.
      logger.error('could not reclaim the lost instance; a later tick retries', { ...context, error: failure });
      return;
    }
    result.lostReclaimed++;
    logger.warn('reclaimed an instance that lost its worker (none on any trusted read for lostReclaimSeconds); ' +
      'the lifecycle hook drains it', context);
  }

  /**
   * Terminates (retrying without decrement if AWS refuses at min size). True when the instance was terminated; on
   * failure (counted as an error) the caller decides what becomes of a drained worker.
   */
  async function terminateWithFallback(
    termination: { readonly kind: string; readonly instanceId: string; readonly decrement: boolean; readonly workerId?: string },
    result: Execution,
  ): Promise<{ ok: boolean; failure?: unknown }> {
    const { kind, workerId, instanceId } = termination;
    let failure: unknown;
    try {
      await fleet.terminateInstance(instanceId, termination.decrement);
      return { ok: true };
    } catch (error) {
      failure = error;
    }
    if (termination.decrement && isMinSizeRejection(failure)) {
      // Min size was raised since the plan. The worker is already drained and idle (or gone), so replacing the
      // instance costs one boot, while undraining would keep an instance the policy already judged surplus (or useless).
      logger.warn('group is at min size, so AWS refused to decrement; terminating without decrement (the ASG replaces it)', {
        kind,
        workerId,
        instanceId,
        error: failure,
      });
      try {
        await fleet.terminateInstance(instanceId, false);
        return { ok: true };
      } catch (error) {
        failure = error;
      }
    }
    result.errors++;
    return { ok: false, failure };
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
    const { ok, failure } = await terminateWithFallback(termination, result);
    if (ok) {
      result.terminated++;
      logger.info('terminated idle worker instance', { workerId, instanceId, decrement: termination.decrement });
      return;
    }
    logger.error('could not terminate drained worker instance', { workerId, instanceId, error: failure });
    await undrainIfInService(workerId, instanceId, result);
  }

  /** After a failed termination: undrain only if a fresh describe shows the instance still InService. */
  async function undrainIfInService(workerId: string, instanceId: string, result: Execution): Promise<void> {
    let state: string | undefined;
    try {
      state = (await fleet.describe()).instances.find((i) => i.id === instanceId)?.lifecycleState;
    } catch (error) {
      result.errors++;
      pending.set(workerId, instanceId);
      logger.error('could not describe the group after a failed termination; the undrain waits for the next tick', {
        workerId,
        instanceId,
        error,
      });
      return;
    }
    if (state === 'InService') {
      await undrain(workerId, instanceId, 'termination failed', result);
      return;
    }
    logger.warn('termination failed, but the instance is leaving the group anyway; its worker stays drained', {
      workerId,
      instanceId,
      lifecycleState: state ?? 'gone',
    });
  }

  /**
   * Re-checks every worker of an instance left drained (a drain call: no change, fresh state) and terminates the
   * instance if all are drained and idle. Never undrains: whatever stops the reclaim, the worker stays as it was
   * (drained) and the next tick decides again from a fresh snapshot.
   */
  async function reclaim(termination: Termination, undrainedNow: ReadonlySet<string>, result: Execution): Promise<void> {
    const { instanceId, idleSince, decrement } = termination;
    const workerIds = [termination.workerId, ...termination.otherWorkerIds];
    const context = { instanceId, workerIds, idleSince, decrement };
    const skip = (level: 'info' | 'error', message: string, extra: Record<string, unknown> = {}) => {
      result.reclaimsSkipped++;
      if (level === 'error') result.errors++;
      logger[level](message, { ...context, ...extra });
    };
    const undrained = workerIds.filter((id) => undrainedNow.has(id));
    if (undrained.length > 0) {
      skip('info', 'not reclaiming the drained instance: a pending undrain of this container undrained its worker this tick', {
        undrained,
      });
      return;
    }
    for (const workerId of workerIds) {
      let reply: DrainResult;
      try {
        reply = await workerPool.drain(workerId);
      } catch (error) {
        // The worker was drained before us, so a failed (or half-applied) drain changes nothing: no undrain.
        skip('error', 'could not re-check a drained worker; not reclaiming its instance this tick', { workerId, error });
        return;
      }
      if (reply.worker.busy) {
        skip('info', 'drained worker is busy after all; leaving it drained until its run ends (a later tick reclaims it)', {
          workerId,
        });
        return;
      }
      if (!reply.worker.drained) {
        skip('error', 'drain reply shows the worker undrained; not reclaiming its instance', { workerId });
        return;
      }
    }
    const { ok, failure } = await terminateWithFallback(termination, result);
    if (!ok) {
      // Counted as an error by terminateWithFallback. Left drained: the policy plans the reclaim again next tick.
      logger.error('could not reclaim the drained instance; its workers stay drained and a later tick retries', {
        ...context,
        error: failure,
      });
      return;
    }
    result.drainedReclaimed++;
    for (const workerId of workerIds) pending.delete(workerId);
    logger.warn('reclaimed an instance whose workers were left drained and idle', context);
  }

  /**
   * A retained instance (release-retained.ts). No pending undrain can concern its workers: an undrain is retried only
   * while its instance is InService (settlePendingUndrains), and a release is planned only for a retained one.
   */
  async function release(termination: Termination, pool: PoolSnapshot, asg: AsgSnapshot, result: Execution): Promise<void> {
    const outcome = await releaser.release({ termination, pool, asg });
    if (outcome === 'requested') {
      result.retainedReleased++;
      return;
    }
    result.reclaimsSkipped++;
    if (outcome === 'failed') result.errors++;
  }

  /** Retries the pending undrains; returns the workers undrained this tick. */
  async function settlePendingUndrains(pool: PoolSnapshot, asg: AsgSnapshot, result: Execution): Promise<Set<string>> {
    const undrainedNow = new Set<string>();
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
      const why = 'still drained after an earlier undrain (failed, or overtaken by a late drain)';
      if (await undrain(workerId, instanceId, why, result)) undrainedNow.add(workerId);
    }
    return undrainedNow;
  }

  return {
    async execute({ plan, pool, asg, timeLeftMs }) {
      const result: Execution = {
        scaledOut: 0,
        terminated: 0,
        drainSkippedBusy: 0,
        drainedReclaimed: 0,
        retainedReleased: 0,
        reclaimsSkipped: 0,
        straysReaped: 0,
        straysSkipped: 0,
        lostReclaimed: 0,
        lostSkipped: 0,
        undrainFailures: 0,
        errors: 0,
      };
      const undrainedNow = await settlePendingUndrains(pool, asg, result);
      await scaleOut(plan, result);
      await repair(plan, asg, result);
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
        if (termination.kind === 'scaleIn') await drainAndTerminate(termination, result);
        else if (termination.kind === 'reclaim') await reclaim(termination, undrainedNow, result);
        else await release(termination, pool, asg, result);
      }
      return result;
    },

    pendingUndrains: () => [...pending.keys()],
    releasesOnHold: () => releaser.onHold(),
  };
}
