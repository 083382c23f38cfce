/**
 * Grid search over our autoscaler's settings: every combination of poll interval, scale-down delay
 * and maxTerminatePerTick is simulated on every trace, then scored on two axes:
 *
 * - wait: the mean over traces of each trace's mean queue wait (each trace weighs the same, however
 *   many runs it has). The mean, not the p95: with no minimum idle, the p95 of every setting is about
 *   one boot plus one poll interval (a run that finds no idle worker waits for a boot), so only the
 *   mean shows what keeping idle workers buys;
 * - cost: total instance-hours over all traces, with warm-pool instances stopped at their stopped cost ratio (`costHours`).
 *
 * The Pareto front keeps the settings no other setting beats on both axes. The recommendation
 * prices queueing explicitly: it minimises
 *
 *   instance-hours + waitPrice * (hours runs spent queued, summed over all traces)
 *
 * over the front. `waitPrice` is how many instance-hours one hour of a run waiting is worth; the
 * default 1 counts an instance-second and a queued second alike (the same exchange the break-even
 * delay's cost model makes). Raise it when people wait on the runs (an engineer's hour buys many
 * instance-hours); a setting that is fine at 1 and at 10 is a robust default.
 */
import type { ScalingConfig } from '../../lambda/core/config';
import { parseScaleDownDelay } from '../../lambda/core/scale-down-delay';
import { simulate, type SimResult } from './engine';
import type { SimModel } from './model';
import { oursPolicy, type OursOptions } from './policies/ours';
import type { Trace } from './trace';

export interface SweepGrid {
  readonly pollIntervals: readonly number[];
  readonly delays: readonly string[];
  readonly maxTerminate: readonly number[];
}

export const DEFAULT_GRID: SweepGrid = {
  pollIntervals: [5, 10, 15, 30, 60],
  delays: [
    'fixed:0',
    'fixed:15',
    'fixed:30',
    'fixed:45',
    'fixed:60',
    'fixed:120',
    'fixed:300',
    'breakEven:boot=120,min=60,max=600',
    'breakEven:boot=120,min=30,max=600',
    'breakEven:boot=90,min=30,max=600',
    'breakEven:boot=90,min=30,max=300',
    'breakEven:boot=180,min=30,max=900',
  ],
  maxTerminate: [1, 2, 5, 20],
};

export interface SweepPoint {
  readonly pollIntervalSeconds: number;
  readonly delay: string;
  readonly maxTerminatePerTick: number;
  /** Mean over traces of the per-trace mean wait, seconds. */
  readonly wait: number;
  /** Mean over traces of the per-trace p95 wait, seconds. */
  readonly waitP95: number;
  /** Spacelift and AWS calls per simulated hour, averaged over the traces. */
  readonly callsPerHour: number;
  /** Total cost over the traces, in instance-hours (`costHours`: stopped warm-pool instances at their ratio). */
  readonly cost: number;
  /** Total hours runs spent queued, over the traces. */
  readonly waitHours: number;
  readonly perTrace: readonly { readonly trace: string; readonly mean: number; readonly p95: number; readonly instanceHours: number }[];
  /** Any busy worker terminated or run left unstarted (disqualifies the point). */
  readonly unsafe: boolean;
}

export interface SweepOutcome {
  readonly points: readonly SweepPoint[];
  readonly front: readonly SweepPoint[];
  readonly recommended: SweepPoint;
  readonly waitPrice: number;
}

export function label(point: Pick<SweepPoint, 'pollIntervalSeconds' | 'delay' | 'maxTerminatePerTick'>): string {
  return `poll=${point.pollIntervalSeconds}/delay=${point.delay}/maxTerminate=${point.maxTerminatePerTick}`;
}

/** Points not dominated on (wait, cost), sorted by wait. */
export function paretoFront<T extends { wait: number; cost: number }>(points: readonly T[]): T[] {
  const sorted = [...points].sort((a, b) => a.wait - b.wait || a.cost - b.cost);
  const front: T[] = [];
  let bestCost = Infinity;
  for (const point of sorted) {
    if (point.cost < bestCost - 1e-9) {
      front.push(point);
      bestCost = point.cost;
    }
  }
  return front;
}

/** The point minimising cost + waitPrice * waitHours. */
export function recommend<T extends { cost: number; waitHours: number }>(points: readonly T[], waitPrice: number): T {
  if (points.length === 0) throw new Error('recommend: no points');
  const score = (p: T) => p.cost + waitPrice * p.waitHours;
  return points.reduce((best, p) => (score(p) < score(best) - 1e-9 ? p : best));
}

/**
 * The point whose score is never far from the best, whatever the price of waiting: for each price
 * its regret is score / best score - 1, and the pick minimises the largest regret over `prices`.
 * Points within `tieTolerance` of that minimum go to `tieBreak` (e.g. prefer a smaller cap).
 */
export function robustPick<T extends { cost: number; waitHours: number }>(
  points: readonly T[],
  prices: readonly number[],
  tieBreak: (a: T, b: T) => number = () => 0,
  tieTolerance = 0.0025,
): { point: T; regret: number } {
  if (points.length === 0) throw new Error('robustPick: no points');
  const best = prices.map((price) => Math.min(...points.map((p) => p.cost + price * p.waitHours)));
  const regret = (p: T) => Math.max(...prices.map((price, i) => (p.cost + price * p.waitHours) / best[i] - 1));
  const least = Math.min(...points.map(regret));
  const near = points.filter((p) => regret(p) <= least + tieTolerance).sort((a, b) => tieBreak(a, b) || regret(a) - regret(b));
  return { point: near[0], regret: regret(near[0]) };
}

export interface SweepOptions {
  readonly base: OursOptions;
  readonly grid: SweepGrid;
  /** Instance-hours one hour of queueing is worth (default 1). */
  readonly waitPrice?: number;
  /** Called after each setting with its index, for progress output. */
  readonly progress?: (done: number, total: number) => void;
}

export async function sweep(traces: readonly Trace[], model: SimModel, options: SweepOptions): Promise<SweepOutcome> {
  const { grid, base } = options;
  const combos: { poll: number; delay: string; maxTerminate: number }[] = [];
  for (const poll of grid.pollIntervals) {
    for (const delay of grid.delays) for (const maxTerminate of grid.maxTerminate) combos.push({ poll, delay, maxTerminate });
  }
  const points: SweepPoint[] = [];
  for (const [index, combo] of combos.entries()) {
    const scaling: ScalingConfig = {
      ...base.scaling,
      scaleDownDelay: parseScaleDownDelay(combo.delay),
      maxTerminatePerTick: combo.maxTerminate,
    };
    const policy = oursPolicy({ ...base, scaling, pollIntervalSeconds: combo.poll, label: 'sweep' });
    const results: SimResult[] = [];
    for (const trace of traces) results.push(await simulate(trace, policy, model));
    points.push({
      pollIntervalSeconds: combo.poll,
      delay: combo.delay,
      maxTerminatePerTick: combo.maxTerminate,
      wait: results.reduce((sum, r) => sum + r.wait.mean, 0) / results.length,
      waitP95: results.reduce((sum, r) => sum + r.wait.p95, 0) / results.length,
      callsPerHour: results.reduce((sum, r) => sum + ((r.calls.spacelift + r.calls.aws) * 3600) / r.endTime, 0) / results.length,
      cost: results.reduce((sum, r) => sum + r.costHours, 0),
      waitHours: results.reduce((sum, r) => sum + r.waitHours, 0),
      perTrace: results.map((r) => ({ trace: r.trace, mean: r.wait.mean, p95: r.wait.p95, instanceHours: r.instanceHours })),
      unsafe: results.some((r) => r.busyTerminated > 0 || r.unstarted > 0),
    });
    options.progress?.(index + 1, combos.length);
  }
  const safe = points.filter((p) => !p.unsafe);
  const front = paretoFront(safe.length > 0 ? safe : points);
  const waitPrice = options.waitPrice ?? 1;
  return { points, front, recommended: recommend(front, waitPrice), waitPrice };
}

/** Parses `5,10,15` into numbers. */
export function parseNumberList(text: string, what: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(`${what}: expected a comma-separated list of numbers, got "${text}"`);
  }
  return values;
}

/** Parses `fixed:0;fixed:60;breakEven:min=30,max=600` (semicolons, since delays contain commas). */
export function parseDelayList(text: string): string[] {
  const delays = text.split(';').map((part) => part.trim()).filter((part) => part !== '');
  for (const delay of delays) parseScaleDownDelay(delay);
  return delays;
}
