/**
 * §3: the settings of our autoscaler ranked by the cost goal (sim/goal-ranking.ts) on the tuning traces, and the
 * poll interval at the best of them. The two anchors and the floor are computed once per trace (`references`), not
 * per setting. The recommended setting is the top of the ranking over both sweeps.
 */
import { type GoalReference, type GoalScore, goalScore, rankByGoal } from '../sim/goal-ranking';
import {
  gridSettings,
  sameSetting,
  settingOf,
  simulateSettings,
  type SweepGrid,
  type SweepPoint,
  type SweepSetting,
} from '../sim/sweep';
import type { Trace } from '../sim/trace';
import { MODEL, SHIPPED } from '../suite';

export const FULL_GRID: SweepGrid = {
  pollIntervals: [15],
  pollWhen: ['needed', 'queued'],
  delays: ['fixed:0', 'fixed:15', 'fixed:30', 'fixed:60', 'breakEven'],
  soon: [0, 60, 75, 90],
  maxTerminate: [5],
};
export const FULL_POLLS: readonly number[] = [5, 10, 15, 30];

/** `--quick`: enough to see the ranking work, including the shipped defaults. */
export const QUICK_GRID: SweepGrid = {
  pollIntervals: [15],
  pollWhen: ['needed', 'queued'],
  delays: ['fixed:0', 'fixed:15', 'breakEven'],
  soon: [0, 75],
  maxTerminate: [5],
};
export const QUICK_POLLS: readonly number[] = [5, 15, 30];

export type Scored = GoalScore<SweepPoint>;

export interface Tuning {
  readonly grid: SweepGrid;
  readonly references: readonly GoalReference[];
  /** Every setting of the grid (and the shipped defaults), best first. */
  readonly ranked: readonly Scored[];
  /**
   * The best setting of the grid at each poll interval, then (when the best polls only when needed) the best that
   * polls while runs are queued, in the order of the poll intervals.
   */
  readonly polls: readonly Scored[];
  /** The top of both sweeps. */
  readonly recommended: Scored;
  readonly defaults: Scored;
  readonly recommendedIsDefault: boolean;
}

/** `settings` plus `extra` unless an equal one is there. */
function including(settings: readonly SweepSetting[], extra: SweepSetting): SweepSetting[] {
  return settings.some((s) => sameSetting(s, extra)) ? [...settings] : [...settings, extra];
}

export async function tune(
  traces: readonly Trace[],
  references: readonly GoalReference[],
  options: { readonly quick: boolean; readonly log: (message: string) => void },
): Promise<Tuning> {
  const grid = options.quick ? QUICK_GRID : FULL_GRID;
  const shipped = settingOf(SHIPPED);
  const settings = including(gridSettings(grid, SHIPPED), shipped);
  options.log(`sweep: ${settings.length} settings x ${traces.length} traces`);
  const points = await simulateSettings(traces, MODEL, SHIPPED, settings);
  const ranked = rankByGoal(points, references);

  // The poll interval at the best setting, and at the best that polls while runs are queued (where it matters most).
  const best = ranked[0].point;
  const queued = ranked.find((s) => s.point.pollWhen === 'queued' && best.pollWhen !== 'queued')?.point;
  const variants = [best, ...(queued === undefined ? [] : [queued])].flatMap((at) =>
    (options.quick ? QUICK_POLLS : FULL_POLLS).map((pollIntervalSeconds) => ({ ...settingFields(at), pollIntervalSeconds })));
  const missing = variants.filter((v) => !points.some((p) => sameSetting(p, v)));
  options.log(`poll sweep: ${missing.length} more settings`);
  const all = [...points, ...(await simulateSettings(traces, MODEL, SHIPPED, missing))];
  const find = (setting: SweepSetting) => all.find((p) => sameSetting(p, setting))!;
  const polls = variants.map((v) => goalScore(find(v), references));

  const overall = rankByGoal(all, references);
  const recommended = overall[0];
  const defaults = overall.find((s) => sameSetting(s.point, shipped))!;
  return { grid, references, ranked, polls, recommended, defaults, recommendedIsDefault: sameSetting(recommended.point, shipped) };
}

/** The setting of a point, without its measurements. */
function settingFields(point: SweepPoint): SweepSetting {
  const { pollIntervalSeconds, delay, maxTerminatePerTick, soon, pollWhen } = point;
  return { pollIntervalSeconds, delay, maxTerminatePerTick, soon, pollWhen };
}
