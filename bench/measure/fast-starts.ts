/**
 * §7 (issue 14): how fast runs start, and at what cost, with the opt-in levers: Spacelift's webhook poking the
 * autoscaler (sim/webhook.ts) and a warm pool of stopped instances (sim/model.ts WarmPool), each alone and together,
 * against our defaults (one look a minute) and Spacelift's autoscaler at its defaults, on every trace.
 */
import { simulate, type SimResult } from '../sim/engine';
import { DEFAULT_STOPPED_COST_RATIO, DEFAULT_WARM_START_SECONDS, type SimModel } from '../sim/model';
import { oursPolicy } from '../sim/policies/ours';
import type { Trace } from '../sim/trace';
import { DEFAULT_WEBHOOK } from '../sim/webhook';
import { MODEL, SHIPPED } from '../suite';

/** Stopped instances kept ready: a small pool's worth; a warm pool as large as a burst bills its EBS all day. */
export const WARM_POOL_SIZE = 3;

export const FAST_START_VARIANTS = ['defaults', 'webhook', 'warm pool', 'warm pool + webhook'] as const;
export type FastStartVariant = (typeof FAST_START_VARIANTS)[number];

export interface FastStartRow {
  readonly trace: string;
  readonly results: Readonly<Record<FastStartVariant, SimResult>>;
  /** Spacelift's autoscaler at its defaults on the same trace, without a warm pool (its module has none). */
  readonly anchorDefaults: SimResult;
}

const WARM_MODEL: SimModel = {
  ...MODEL,
  warmPool: { size: WARM_POOL_SIZE, resumeSeconds: DEFAULT_WARM_START_SECONDS, stoppedCostRatio: DEFAULT_STOPPED_COST_RATIO },
};

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
    });
  }
  return rows;
}
