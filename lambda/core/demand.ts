import type { DemandSignal, ScalingConfig } from './config';
import { describeFloor, effectiveMinIdle } from './schedule';
import type { PoolSnapshot } from './types';

export interface Demand {
  /** Busy workers + queued runs + minimum idle. */
  readonly total: number;
  /** Queued runs by the signal actually used. */
  readonly queued: number;
  readonly minIdle: number;
  readonly reasons: readonly string[];
}

/** `busy` counts this ASG's serving instances with a busy worker; their runs are already served. */
export function assessDemand(pool: PoolSnapshot, config: ScalingConfig, busy: number, now: number): Demand {
  const reasons: string[] = [];
  let signal: DemandSignal = config.demandSignal;
  if (signal === 'schedulableRunsCount' && pool.schedulableRunsCount === undefined) {
    reasons.push('demand signal schedulableRunsCount is missing from the snapshot; using pendingRuns');
    signal = 'pendingRuns';
  }
  const queued = Math.max(0, (signal === 'schedulableRunsCount' ? pool.schedulableRunsCount : pool.pendingRuns) ?? 0);

  const { minIdle, activeFloors } = effectiveMinIdle(config.minIdle, config.schedule, now);
  const floors = activeFloors.length > 0 ? ` (open floors: ${activeFloors.map(describeFloor).join('; ')})` : '';
  const total = busy + queued + minIdle;
  reasons.push(`demand ${total} = ${busy} busy + ${queued} queued (${signal}) + ${minIdle} min idle${floors}`);
  return { total, queued, minIdle, reasons };
}
