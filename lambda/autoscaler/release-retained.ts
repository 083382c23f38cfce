/**
 * Carries out the release of an instance Auto Scaling retained (`Terminating:Retained`, core/reclaim.ts). A retained
 * instance may leave with no other check of ours, so the release checks more than a reclaim of a drained instance:
 * - Every worker on it is drained with the usual call (a no-op on a drained one, returning its fresh state); one that
 *   was not drained in the plan's snapshot is drained on this tick and the instance terminated on a later one, and
 *   never sooner than `RELEASE_SETTLE_SECONDS` after this container drained it: a run Spacelift assigned just before
 *   the drain has that long to show as busy. A busy worker is left drained, never undrained: its instance is leaving.
 * - Just before the termination, a fresh snapshot, no failed read, must show every worker naming the instance (under
 *   any group) among the ones checked, drained and idle, and no worker with invalid metadata that may run on it.
 * - Terminated without decrement: a retained instance is not part of desired capacity. The termination passes the
 *   termination lifecycle hook again, so the drain checks once more; if that drain fails again, Auto Scaling retains
 *   the instance again, and this container does not ask again for `RELEASE_RETRY_SECONDS` (nothing loops on a
 *   broken drain; the RetainedInstances alarm is the way out).
 * State lives in this container: a cold start forgets it and errs towards one more check, never one less, except that
 * the settle time of a drain made by an earlier container is not known (that drain was an invocation ago at least).
 */
import type { DrainResult, Fleet, WorkerPoolApi } from '../core/ports';
import { readFailure } from '../core/registration';
import type { Termination } from '../core/scale-in';
import { invalidWorkerMayRunOn } from '../core/strays';
import type { AsgSnapshot, PoolSnapshot } from '../core/types';
import type { AutoscalerLogger } from './execute';

/** Least time between our drain of a retained instance's worker and the instance's termination. */
export const RELEASE_SETTLE_SECONDS = 60;
/** Least time between two termination requests for one retained instance (each passes the lifecycle hook). */
export const RELEASE_RETRY_SECONDS = 3600;

export interface ReleaseDeps {
  readonly workerPool: WorkerPoolApi;
  readonly fleet: Fleet;
  readonly logger: AutoscalerLogger;
  /** Seconds. */
  readonly clock: () => number;
}

export type ReleaseOutcome = 'requested' | 'skipped' | 'failed';

export interface ReleaseInput {
  readonly termination: Termination;
  /** The snapshots the plan was made from. */
  readonly pool: PoolSnapshot;
  readonly asg: AsgSnapshot;
}

export interface RetainedReleaser {
  /** `failed` outcomes are errors (logged); `skipped` ones are expected waits (logged at info). */
  release(input: ReleaseInput): Promise<ReleaseOutcome>;
  /**
   * Retained instances this container will not act on yet (asked for within RELEASE_RETRY_SECONDS, or drained within
   * RELEASE_SETTLE_SECONDS): the policy leaves them out, so they do not take a repair another instance could use.
   */
  onHold(): ReadonlySet<string>;
}

export function createRetainedReleaser(deps: ReleaseDeps): RetainedReleaser {
  const { workerPool, fleet, logger, clock } = deps;
  /** Worker id → when this container drained it for a release, and the retained instance it is on. */
  const drainedAt = new Map<string, { readonly at: number; readonly instanceId: string }>();
  /** Instance id → when this container asked Auto Scaling to terminate it. */
  const requestedAt = new Map<string, number>();

  const forget = (now: number) => {
    for (const [key, at] of requestedAt) if (now - at >= RELEASE_RETRY_SECONDS) requestedAt.delete(key);
    for (const [key, { at }] of drainedAt) if (now - at >= RELEASE_RETRY_SECONDS) drainedAt.delete(key);
  };

  return {
    async release({ termination, pool, asg }) {
      const now = clock();
      forget(now);
      const { instanceId } = termination;
      const workerIds = [termination.workerId, ...termination.otherWorkerIds];
      const context = { instanceId, workerIds };
      const skip = (message: string, extra: Record<string, unknown> = {}): ReleaseOutcome => {
        logger.info(message, { ...context, ...extra });
        return 'skipped';
      };
      const fail = (message: string, extra: Record<string, unknown> = {}): ReleaseOutcome => {
        logger.error(message, { ...context, ...extra });
        return 'failed';
      };

      const asked = requestedAt.get(instanceId);
      if (asked !== undefined) {
        return skip('retained again after our termination request: the termination hook\'s drain did not complete it; '
          + 'not asking again yet (see the drain function\'s errors and dead-letter queue)', { requestedSecondsAgo: now - asked });
      }

      // Every worker is drained before any answer is judged: one busy worker must not leave another taking runs.
      const busy: string[] = [];
      for (const workerId of workerIds) {
        let reply: DrainResult;
        try {
          reply = await workerPool.drain(workerId);
        } catch (error) {
          // Never undrained: the instance is leaving, so a half-applied drain only keeps runs off it.
          return fail('could not drain a retained instance\'s worker; not terminating it this tick', { workerId, error });
        }
        if (!reply.worker.drained) return fail('drain reply shows the retained instance\'s worker undrained; not terminating it', { workerId });
        const before = pool.workers.find((worker) => worker.id === workerId);
        if (before?.drained !== true && !drainedAt.has(workerId)) drainedAt.set(workerId, { at: now, instanceId });
        if (reply.worker.busy) busy.push(workerId);
      }
      if (busy.length > 0) return skip('retained instance\'s workers are busy; left drained until their runs end', { busy });

      const settling = workerIds.filter((id) => {
        const drain = drainedAt.get(id);
        return drain !== undefined && now - drain.at < RELEASE_SETTLE_SECONDS;
      });
      if (settling.length > 0) {
        return skip(`drained the retained instance's workers; terminating it once they have stayed idle for ${RELEASE_SETTLE_SECONDS}s`, {
          settling,
        });
      }

      let fresh: PoolSnapshot;
      try {
        fresh = await workerPool.snapshot();
      } catch (error) {
        return fail('could not re-check the retained instance against a fresh pool snapshot; not terminating it this tick', { error });
      }
      const failure = readFailure(fresh, asg);
      if (failure !== undefined) return skip('the re-check snapshot is a failed read; not terminating the retained instance', { reason: failure });
      const claimants = fresh.workers.filter((worker) => worker.metadata.valid && worker.metadata.instanceId === instanceId);
      const unexpected = claimants.filter((worker) => !workerIds.includes(worker.id) || worker.busy || !worker.drained);
      if (unexpected.length > 0) {
        return skip('the re-check shows a worker on the retained instance that is new, busy or undrained; not terminating it', {
          unexpected: unexpected.map((worker) => ({ id: worker.id, busy: worker.busy, drained: worker.drained })),
        });
      }
      const launchTime = asg.instances.find((instance) => instance.id === instanceId)?.launchTime;
      if (invalidWorkerMayRunOn(launchTime, fresh.workers)) {
        return skip('a worker with invalid metadata may run on the retained instance; not terminating it');
      }

      try {
        await fleet.terminateInstance(instanceId, false);
      } catch (error) {
        return fail('could not terminate the retained instance; its workers stay drained and a later tick retries', { error });
      }
      requestedAt.set(instanceId, now);
      for (const workerId of workerIds) drainedAt.delete(workerId);
      logger.warn('asked Auto Scaling to terminate a retained instance whose workers are all drained and idle; '
        + 'it passes the termination lifecycle hook again', context);
      return 'requested';
    },

    onHold() {
      const now = clock();
      forget(now);
      const settling = [...drainedAt.values()].filter(({ at }) => now - at < RELEASE_SETTLE_SECONDS).map(({ instanceId }) => instanceId);
      return new Set([...requestedAt.keys(), ...settling]);
    },
  };
}
