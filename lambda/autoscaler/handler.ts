/**
 * The autoscaler Lambda: scheduled every minute, and poked by the webhook endpoint when a run starts waiting (a poke's
 * invocation ticks once, see `onPoke`; a trailing poke first waits, at most MAX_POKE_DEFER_SECONDS, for the end of
 * the endpoint's rate-limit interval). Each scheduled invocation ticks once, then again on the `pollIntervalSeconds`
 * grid, for up to `loopSeconds`, only while a tick is due (core/next-tick.ts: an idle worker to release, a minimum
 * idle floor, predictions standing in for launches, a cap that left work, a read that looked wrong; here also a
 * failed tick or an undrain to retry), since Lambda bills the time between ticks. A quiet pool costs one short tick
 * a minute.
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
import { readPoke, type Poke } from '../shared/poke';
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
    clock: deps.clock,
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

  // A poke's tick never scales in (repairs still run): the poke may come from any pool's run, moments after one of our
  // workers went idle, and with a scale-down delay of 0 it would release that worker long before the next scheduled
  // look would.
  const pokeDeps: TickDeps = { ...tickDeps, scaling: { ...config.scaling, maxTerminatePerTick: 0 } };
  // What the container knows of past ticks. With reserved concurrency 1 one container serves the pool, so this is
  // the pool's history, except after a cold start, which begins with nothing and errs towards ticking.
  /** When the last tick that read the pool started. */
  let lastReadAt: number | undefined;
  /** When the last full tick (one that may scale in) started; a fresh container counts from its start. */
  let lastFullTickAt = deps.clock();
  const tick = async (full: boolean, timeLeftMs: () => number) => {
    const at = deps.clock();
    if (full) lastFullTickAt = at;
    const outcome = await runTick(full ? tickDeps : pokeDeps, state, timeLeftMs);
    if (outcome.plan !== undefined) lastReadAt = at;
    return outcome;
  };

  /**
   * A poke gets one tick, then the invocation ends: looping without scale-in would hold the function's only
   * execution for nothing and push the scheduled invocation, the one that scales in, into throttling. A poke gets
   * no tick when a tick that read the pool started after it was sent (or after its `notBefore`): the webhook runs
   * in several containers, each with its own rate limit. While pokes keep the scheduled invocations out for more
   * than a schedule period and an interval, a poke's tick is a full one, so idle workers are still released.
   */
  const onPoke = async (poke: Poke, started: number, timeLeftMs: () => number): Promise<InvocationSummary> => {
    if (poke.servedFrom !== undefined && lastReadAt !== undefined && lastReadAt >= poke.servedFrom) {
      logger.info('poke already served by a later tick', { servedFrom: poke.servedFrom, lastReadAt });
      return { ticks: 0, failedTicks: 0, errors: 0 };
    }
    if (poke.deferSeconds > 0 && timeLeftMs() - poke.deferSeconds * 1000 >= reserveMs) {
      // A trailing poke: the deliveries the endpoint coalesced came in after the last poke's tick read the pool.
      logger.info('trailing poke: waiting for the end of the webhook\'s interval', { deferSeconds: poke.deferSeconds });
      await deps.sleep(Math.round(poke.deferSeconds * 1000));
    }
    const full = deps.clock() - lastFullTickAt > config.scheduleSeconds + config.pollIntervalSeconds;
    if (full) logger.info('no scheduled tick for more than a schedule period: this poke\'s tick may scale in', { lastFullTickAt });
    const outcome = await tick(full, timeLeftMs);
    const summary = { ticks: 1, failedTicks: outcome.completed ? 0 : 1, errors: outcome.errors };
    logger.info('invocation done', { ...summary, poke: true, elapsed: deps.clock() - started, pendingUndrains: executor.pendingUndrains() });
    return summary;
  };

  return async (event, context) => {
    const started = deps.clock();
    const timeLeftMs = () => context.getRemainingTimeInMillis();
    const poke = readPoke(event, started);
    if (poke !== undefined) return onPoke(poke, started, timeLeftMs);
    const interval = config.pollIntervalSeconds;
    let ticks = 0;
    let failedTicks = 0;
    let errors = 0;
    for (;;) {
      const outcome = await tick(true, timeLeftMs);
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
