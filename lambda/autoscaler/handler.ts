/**
 * The autoscaler Lambda: scheduled every minute (and poked by the webhook endpoint when a run starts waiting; a
 * trailing poke first waits, at most MAX_POKE_DEFER_SECONDS, for the end of the endpoint's rate-limit interval). Each
 * invocation ticks once, then again on the `pollIntervalSeconds` grid, for up to `loopSeconds`, only while a tick is
 * due (core/next-tick.ts: an idle worker to release, a minimum idle floor, predictions standing in for launches, a cap
 * that left work, a read that looked wrong; here also a failed tick or an undrain to retry), since Lambda bills the
 * time between ticks. A quiet pool costs one short tick a minute.
 *
 * Ticks start on a fixed grid (0, 15, 30, 45 s by default); a tick that overruns its slot skips the slots it
 * missed rather than running back to back. No tick starts, and within a tick no drain starts, with less than
 * `tickReserveMs` of invocation time left: a drain cut off by the Lambda timeout would leave a drained worker
 * behind. Transient failures never make the invocation fail: retrying is the schedule's job (async retries are
 * off), and a failed invocation would only add noise.
 */
import type { Context } from 'aws-lambda';
import { nextTick, type NextTick } from '../core/next-tick';
import type { Fleet, WorkerPoolApi } from '../core/ports';
import { readPoke } from '../shared/poke';
import type { AutoscalerConfig } from './config';
import { createExecutor, type AutoscalerLogger } from './execute';
import { runTick, type AutoscalerMetrics, type TickDeps, type TickState } from './tick';

export { AutoscalerMetric, METRICS_NAMESPACE, type AutoscalerMetrics } from './tick';
export type { AutoscalerLogger } from './execute';

/**
 * One drain step (drain, terminate, a terminate retry at min size, undrain) at the 5 s per-attempt timeouts the
 * entry point sets, plus room for a retry. The function timeout should exceed `loopSeconds` by at least this
 * much and one tick's reads (90 s for the defaults); a shorter one only means fewer ticks per invocation.
 */
export const DEFAULT_TICK_RESERVE_MS = 30_000;

export interface HandlerDeps {
  readonly workerPool: WorkerPoolApi;
  readonly fleet: Fleet;
  readonly config: AutoscalerConfig;
  readonly logger: AutoscalerLogger;
  readonly metrics: AutoscalerMetrics;
  /** Epoch seconds. */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Default DEFAULT_TICK_RESERVE_MS. */
  readonly tickReserveMs?: number;
}

export interface InvocationSummary {
  readonly ticks: number;
  /** Ticks that stopped before carrying out their plan. */
  readonly failedTicks: number;
  readonly errors: number;
}

export type AutoscalerHandler = (
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<InvocationSummary>;

/** The returned handler keeps the arrival estimate and pending undrains for as long as the container lives. */
export function createHandler(deps: HandlerDeps): AutoscalerHandler {
  const { config, logger } = deps;
  const reserveMs = deps.tickReserveMs ?? DEFAULT_TICK_RESERVE_MS;
  const executor = createExecutor({
    workerPool: deps.workerPool,
    fleet: deps.fleet,
    logger,
    drainReserveMs: reserveMs,
  });
  const state: TickState = {};
  const tickDeps: TickDeps = {
    workerPool: deps.workerPool,
    fleet: deps.fleet,
    executor,
    asgName: config.asgName,
    scaling: config.scaling,
    metricsLevel: config.metrics,
    logger,
    metrics: deps.metrics,
    clock: deps.clock,
  };

  // A poke's tick only scales out: the poke may come from any pool's run, moments after one of our workers went idle,
  // and with a scale-down delay of 0 it would release that worker long before the next scheduled look would.
  const pokeDeps: TickDeps = { ...tickDeps, scaling: { ...config.scaling, maxTerminatePerTick: 0 } };

  return async (event, context) => {
    const started = deps.clock();
    const poke = readPoke(event, started);
    const poked = poke !== undefined;
    const timeLeftMs = () => context.getRemainingTimeInMillis();
    // The wait counts in the loop's time, so an invocation never runs past loopSeconds into the next scheduled one.
    if (poke !== undefined && poke.deferSeconds > 0 && timeLeftMs() - poke.deferSeconds * 1000 >= reserveMs) {
      // A trailing poke: the deliveries the endpoint coalesced came in after the last poke's tick read the pool.
      logger.info('trailing poke: waiting for the end of the webhook\'s interval', { deferSeconds: poke.deferSeconds });
      await deps.sleep(Math.round(poke.deferSeconds * 1000));
    }
    const interval = config.pollIntervalSeconds;
    let ticks = 0;
    let failedTicks = 0;
    let errors = 0;
    for (;;) {
      const outcome = await runTick(poked ? pokeDeps : tickDeps, state, timeLeftMs);
      ticks++;
      if (!outcome.completed) failedTicks++;
      errors += outcome.errors;

      const next: NextTick = outcome.plan === undefined
        ? { kind: 'poll', reason: 'the tick failed: try again' }
        : executor.pendingUndrains().length > 0
          ? { kind: 'poll', reason: 'undrains to retry' }
          : nextTick(outcome.plan, config.pollWhen);
      if (next.kind === 'none') {
        logger.info('no further tick in this invocation', { reason: next.reason });
        break;
      }
      const elapsed = deps.clock() - started;
      const onGrid = (Math.floor(elapsed / interval) + 1) * interval;
      const nextStart = next.kind === 'at' ? Math.max(onGrid, next.at - started) : onGrid;
      if (nextStart >= config.loopSeconds) break;
      const waitMs = Math.round((nextStart - elapsed) * 1000);
      const leftAtStart = timeLeftMs() - waitMs;
      if (leftAtStart < reserveMs) {
        logger.info('stopping early: too little invocation time left for another tick', { leftAtStart, reserveMs });
        break;
      }
      await deps.sleep(waitMs);
    }
    const summary = { ticks, failedTicks, errors };
    logger.info('invocation done', { ...summary, pendingUndrains: executor.pendingUndrains() });
    return summary;
  };
}
