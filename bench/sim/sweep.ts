/**
 * Grid search over our autoscaler's settings: every combination of poll interval, when to poll, scale-down delay,
 * the busy-finishing horizon (`soon`) and maxTerminatePerTick is simulated on every trace (`simulateSettings`).
 *
 * Two ways to choose among them:
 * - the benchmark (bench/run.ts) ranks them by the cost goal against Spacelift's autoscaler (goal-ranking.ts);
 * - the CLI's `--sweep` (no anchors needed) keeps the Pareto front on two axes and prices queueing:
 *   - wait: the mean over traces of each trace's mean queue wait (each trace weighs the same, however many runs
 *     it has). The mean, not the p95: with no minimum idle, the p95 of every setting is about one boot plus one
 *     poll interval, so only the mean shows what keeping idle workers buys;
 *   - cost: total instance-hours over all traces, with warm-pool instances stopped at their stopped cost ratio
 *     (`costHours`);
 *   and recommends the front's setting minimising `instance-hours + waitPrice * (hours runs spent queued)`.
 *   `waitPrice` is how many instance-hours one hour of a run waiting is worth (default 1).
 */
import { DEFAULT_POLL_WHEN } from '../../lambda/autoscaler/config';
import type { PollWhen } from '../../lambda/core/next-tick';
import { parseScaleDownDelay } from '../../lambda/core/scale-down-delay';
import { callsPerHour } from './call-rate';
import { simulate, type SimResult } from './engine';
import type { TraceOutcome } from './goal-ranking';
import type { SimModel } from './model';
import { oursPolicy, type OursOptions } from './policies/ours';
import type { Trace } from './trace';

export interface SweepGrid {
  readonly pollIntervals: readonly number[];
  readonly delays: readonly string[];
  readonly maxTerminate: readonly number[];
  /** `busyFinishingWithinSeconds` values; default the base options' value. */
  readonly soon?: readonly number[];
  /** POLL_WHEN modes; default the base options' mode. */
  readonly pollWhen?: readonly PollWhen[];
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

/** One combination of the grid. `delay` is kept as written (`breakEven` stays short). */
export interface SweepSetting {
  readonly pollIntervalSeconds: number;
  readonly delay: string;
  readonly maxTerminatePerTick: number;
  readonly soon: number;
  readonly pollWhen: PollWhen;
}

export interface SweepPoint extends SweepSetting {
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
  readonly perTrace: readonly TraceOutcome[];
  /** Any busy worker terminated or run left unstarted (disqualifies the point). */
  readonly unsafe: boolean;
}

export interface SweepOutcome {
  readonly points: readonly SweepPoint[];
  readonly front: readonly SweepPoint[];
  readonly recommended: SweepPoint;
  readonly waitPrice: number;
}

/** The setting as the CLI's `ours:` overrides write it (`ours:<label>` runs it). */
export function label(setting: SweepSetting): string {
  return `poll=${setting.pollIntervalSeconds}/delay=${setting.delay}/maxTerminate=${setting.maxTerminatePerTick}` +
    `/soon=${setting.soon}/pollWhen=${setting.pollWhen}`;
}

/** Whether two settings configure the autoscaler alike (`breakEven` equals its spelt-out defaults). */
export function sameSetting(a: SweepSetting, b: SweepSetting): boolean {
  return a.pollIntervalSeconds === b.pollIntervalSeconds && a.maxTerminatePerTick === b.maxTerminatePerTick &&
    a.soon === b.soon && a.pollWhen === b.pollWhen &&
    parseScaleDownDelay(a.delay).toString() === parseScaleDownDelay(b.delay).toString();
}

/** The setting `options` runs. */
export function settingOf(options: OursOptions): SweepSetting {
  return {
    pollIntervalSeconds: options.pollIntervalSeconds,
    delay: options.scaling.scaleDownDelay.toString(),
    maxTerminatePerTick: options.scaling.maxTerminatePerTick,
    soon: options.scaling.busyFinishingWithinSeconds,
    pollWhen: options.pollWhen ?? DEFAULT_POLL_WHEN,
  };
}

/** `base` with the setting applied. */
export function withSetting(base: OursOptions, setting: SweepSetting, labelText?: string): OursOptions {
  return {
    ...base,
    scaling: {
      ...base.scaling,
      scaleDownDelay: parseScaleDownDelay(setting.delay),
      maxTerminatePerTick: setting.maxTerminatePerTick,
      busyFinishingWithinSeconds: setting.soon,
    },
    pollIntervalSeconds: setting.pollIntervalSeconds,
    pollWhen: setting.pollWhen,
    label: labelText ?? base.label,
  };
}

/** Every combination of the grid, poll interval outermost. */
export function gridSettings(grid: SweepGrid, base: OursOptions): SweepSetting[] {
  const current = settingOf(base);
  const settings: SweepSetting[] = [];
  for (const pollIntervalSeconds of grid.pollIntervals) {
    for (const pollWhen of grid.pollWhen ?? [current.pollWhen]) {
      for (const delay of grid.delays) {
        for (const soon of grid.soon ?? [current.soon]) {
          for (const maxTerminatePerTick of grid.maxTerminate) settings.push({ pollIntervalSeconds, pollWhen, delay, soon, maxTerminatePerTick });
        }
      }
    }
  }
  return settings;
}

/** Simulates each setting on every trace. `progress` is called after each setting. */
export async function simulateSettings(
  traces: readonly Trace[],
  model: SimModel,
  base: OursOptions,
  settings: readonly SweepSetting[],
  progress?: (done: number, total: number) => void,
): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  for (const [index, setting] of settings.entries()) {
    const policy = oursPolicy(withSetting(base, setting, 'sweep'));
    const results: SimResult[] = [];
    for (const trace of traces) results.push(await simulate(trace, policy, model));
    const mean = (f: (r: SimResult) => number) => results.reduce((sum, r) => sum + f(r), 0) / results.length;
    const perTrace = results.map((r) => ({
      trace: r.trace,
      mean: r.wait.mean,
      p95: r.wait.p95,
      instanceHours: r.instanceHours,
      totalCostHours: r.totalCostHours,
      callsPerHour: callsPerHour(r),
    }));
    points.push({
      ...setting,
      wait: mean((r) => r.wait.mean),
      waitP95: mean((r) => r.wait.p95),
      callsPerHour: perTrace.reduce((sum, t) => sum + t.callsPerHour, 0) / perTrace.length,
      cost: results.reduce((sum, r) => sum + r.costHours, 0),
      waitHours: results.reduce((sum, r) => sum + r.waitHours, 0),
      perTrace,
      unsafe: results.some((r) => r.busyTerminated > 0 || r.unstarted > 0),
    });
    progress?.(index + 1, settings.length);
  }
  return points;
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

export interface SweepOptions {
  readonly base: OursOptions;
  readonly grid: SweepGrid;
  /** Instance-hours one hour of queueing is worth (default 1). */
  readonly waitPrice?: number;
  /** Called after each setting with its index, for progress output. */
  readonly progress?: (done: number, total: number) => void;
}

/** The CLI's sweep: the Pareto front over the grid, and the front's cheapest setting at `waitPrice`. */
export async function sweep(traces: readonly Trace[], model: SimModel, options: SweepOptions): Promise<SweepOutcome> {
  const points = await simulateSettings(traces, model, options.base, gridSettings(options.grid, options.base), options.progress);
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
