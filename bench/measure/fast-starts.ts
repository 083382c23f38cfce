/**
 * §7 (issue 14): how fast runs start, and at what cost, with the opt-in levers: Spacelift's webhook poking the
 * autoscaler (sim/webhook.ts) and a warm pool of stopped instances (sim/model.ts WarmPool), each alone and together,
 * against our defaults (one look a minute) and Spacelift's autoscaler at its defaults, on every trace.
 */
import { peakConcurrency, simulate, type SimResult } from '../sim/engine';
import { waitBoundedCostBound } from '../sim/floor';
import { DEFAULT_STOPPED_COST_RATIO, DEFAULT_WARM_START_SECONDS, type SimModel } from '../sim/model';
import { oursPolicy } from '../sim/policies/ours';
import { DEFAULT_PRICES } from '../sim/prices';
import type { Trace } from '../sim/trace';
import { DEFAULT_WEBHOOK } from '../sim/webhook';
import { MODEL, SHIPPED } from '../suite';

/** Stopped instances kept ready: a small pool's worth; a warm pool as large as a burst bills its EBS all day. */
export const WARM_POOL_SIZE = 3;

/** The goal for burst traces with a warm pool and the webhook: p95 wait at most this. */
export const P95_GOAL_SECONDS = 45;

/**
 * A stopped instance-hour's price in running instance-hours for a few instance types with a 40 GiB gp3 root volume
 * (us-east-1 list prices: gp3 $0.08 per GiB-month, so $0.0044 an hour; t3.small $0.0208, m5.large $0.096,
 * c5.2xlarge $0.34 an hour). The first is the simulator's default (sim/model.ts).
 */
export const STOPPED_COST_RATIOS: readonly { readonly instanceType: string; readonly instanceHour: number; readonly ratio: number }[] = [
  { instanceType: 't3.small', instanceHour: DEFAULT_PRICES.instanceHour, ratio: DEFAULT_STOPPED_COST_RATIO },
  { instanceType: 'm5.large', instanceHour: 0.096, ratio: 0.046 },
  { instanceType: 'c5.2xlarge', instanceHour: 0.34, ratio: 0.013 },
];

export const FAST_START_VARIANTS = ['defaults', 'webhook', 'warm pool', 'warm pool + webhook'] as const;
export type FastStartVariant = (typeof FAST_START_VARIANTS)[number];

export interface FastStartRow {
  readonly trace: string;
  readonly results: Readonly<Record<FastStartVariant, SimResult>>;
  /** Spacelift's autoscaler at its defaults on the same trace, without a warm pool (its module has none). */
  readonly anchorDefaults: SimResult;
  /**
   * Instance-hours that any policy whose p95 wait is within P95_GOAL_SECONDS needs at least, with a warm pool that
   * refills itself or without one (see `refillingWarmPoolBound`).
   */
  readonly boundAtGoalHours: number;
  /**
   * Burst traces only: the warm pool it takes to start the burst from stopped instances (its peak concurrency, up to
   * max size), with the webhook. Its `costHours` uses the simulator's default stopped ratio; the render prices it
   * for each of STOPPED_COST_RATIOS from its running and stopped hours.
   */
  readonly burstSized?: { readonly size: number; readonly peak: number; readonly result: SimResult };
}

/**
 * A lower bound on the running instance-hours of any policy, with or without this library's warm pool, whose p95
 * wait is at most `p95Limit`: sim/floor.ts's `waitBoundedCostBound` for the model without a warm pool. Why it holds
 * with one: the warm pool's minimum size equals its maximum prepared capacity, so Auto Scaling replaces each
 * instance a scale-out takes from it by launching another, which boots (billed, at least the fastest boot) before
 * it stops. Charge that boot to the instance that left: every launch then still costs at least a boot and a
 * shutdown, the charge `c` of the proof (step 2), and the charges stay disjoint (each refill boot is charged once,
 * and the resume itself is left out). Stopped instance-hours only add to the cost, so where this bound exceeds
 * Spacelift's whole bill, no warm pool and no trigger can meet both halves of the goal.
 */
export function refillingWarmPoolBound(trace: Trace, p95Limit: number): number {
  return waitBoundedCostBound(trace, MODEL, p95Limit).instanceHoursAtLeast;
}

const WARM_MODEL: SimModel = {
  ...MODEL,
  warmPool: { size: WARM_POOL_SIZE, resumeSeconds: DEFAULT_WARM_START_SECONDS, stoppedCostRatio: DEFAULT_STOPPED_COST_RATIO },
};

async function burstSizedWarmPool(trace: Trace, policy: ReturnType<typeof oursPolicy>): Promise<NonNullable<FastStartRow['burstSized']>> {
  const peak = peakConcurrency(trace);
  const size = Math.min(MODEL.maxSize, peak);
  const model: SimModel = { ...MODEL, warmPool: { size, resumeSeconds: DEFAULT_WARM_START_SECONDS, stoppedCostRatio: DEFAULT_STOPPED_COST_RATIO } };
  return { size, peak, result: await simulate(trace, policy, model) };
}

export async function measureFastStarts(traces: readonly Trace[], anchorDefaultsOf: (trace: string) => SimResult): Promise<FastStartRow[]> {
  const plain = oursPolicy({ ...SHIPPED, label: 'defaults' });
  const poked = oursPolicy({ ...SHIPPED, webhook: DEFAULT_WEBHOOK, label: 'webhook' });
  const rows: FastStartRow[] = [];
  for (const trace of traces) {
    rows.push({
      trace: trace.name,
      results: {
        'defaults': await simulate(trace, plain, MODEL),
        'webhook': await simulate(trace, poked, MODEL),
        'warm pool': await simulate(trace, plain, WARM_MODEL),
        'warm pool + webhook': await simulate(trace, poked, WARM_MODEL),
      },
      anchorDefaults: anchorDefaultsOf(trace.name),
      boundAtGoalHours: refillingWarmPoolBound(trace, P95_GOAL_SECONDS),
      ...(trace.name.startsWith('burst') ? { burstSized: await burstSizedWarmPool(trace, poked) } : {}),
    });
  }
  return rows;
}
