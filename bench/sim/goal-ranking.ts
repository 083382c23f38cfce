/**
 * Ranks settings of our autoscaler by the cost goal of issue 13 (goal.ts), trace by trace, against references
 * simulated once per trace:
 * 1. the number of traces on which the setting dominates Spacelift's autoscaler: total cost (instance-hours plus
 *    Lambda) no more than at its defaults, and p95 and mean wait no longer than with its caps raised to max size;
 * 2. then the number of traces on which the waits alone are met;
 * 3. then the mean over traces of instance-hours / the offline floor that pays every boot (floor.ts), lower first;
 * 4. then the total cost over the traces, lower first.
 * Settings that terminated a busy worker or left a run unstarted rank after every safe one.
 */
import type { SimResult } from './engine';
import { offlineFloor } from './floor';
import type { SimModel } from './model';
import type { Trace } from './trace';

/** What a setting is measured against on one trace. */
export interface GoalReference {
  readonly trace: string;
  /** Spacelift's autoscaler at its defaults: `totalCostHours`. */
  readonly anchorCost: number;
  /** Spacelift's autoscaler with its caps raised to max size: p95 and mean wait, seconds. */
  readonly anchorP95: number;
  readonly anchorMean: number;
  /** Instance-hours of the offline floor that pays every boot. */
  readonly floorHours: number;
}

/** A setting's outcome on one trace (what `sweep` keeps of each simulation). */
export interface TraceOutcome {
  readonly trace: string;
  readonly p95: number;
  readonly mean: number;
  readonly instanceHours: number;
  readonly totalCostHours: number;
  readonly callsPerHour: number;
}

export interface Rankable {
  readonly perTrace: readonly TraceOutcome[];
  readonly unsafe: boolean;
}

export interface GoalScore<T extends Rankable> {
  readonly point: T;
  /** Traces where the setting dominates the anchor (cost and both waits met). */
  readonly dominates: number;
  /** Traces where the p95 and mean waits are met. */
  readonly waitsMet: number;
  /** Mean over traces of instance-hours / floor instance-hours. */
  readonly floorRatio: number;
  /** Sum over traces of `totalCostHours`. */
  readonly totalCost: number;
  /** Mean over traces of the API calls per simulated hour. */
  readonly callsPerHour: number;
}

/** Equal within floating-point noise counts as met. */
const EPSILON = 1e-9;

/** The references for one trace from the two anchor simulations (the floor is computed here, once). */
export function goalReference(trace: Trace, model: SimModel, anchorDefaults: SimResult, anchorRaised: SimResult): GoalReference {
  return {
    trace: trace.name,
    anchorCost: anchorDefaults.totalCostHours,
    anchorP95: anchorRaised.wait.p95,
    anchorMean: anchorRaised.wait.mean,
    floorHours: offlineFloor(trace, model).instanceHours,
  };
}

export function waitsMet(outcome: TraceOutcome, reference: GoalReference): boolean {
  return outcome.p95 <= reference.anchorP95 + EPSILON && outcome.mean <= reference.anchorMean + EPSILON;
}

export function costMet(outcome: TraceOutcome, reference: GoalReference): boolean {
  return outcome.totalCostHours <= reference.anchorCost + EPSILON;
}

export function dominates(outcome: TraceOutcome, reference: GoalReference): boolean {
  return costMet(outcome, reference) && waitsMet(outcome, reference);
}

/** A setting's score on the traces of `references` (every one must be among its outcomes). */
export function goalScore<T extends Rankable>(point: T, references: readonly GoalReference[]): GoalScore<T> {
  if (references.length === 0) throw new Error('goalScore: no references');
  let dominated = 0;
  let met = 0;
  let ratios = 0;
  let totalCost = 0;
  let calls = 0;
  for (const reference of references) {
    const outcome = point.perTrace.find((o) => o.trace === reference.trace);
    if (outcome === undefined) throw new Error(`goalScore: no outcome for trace ${reference.trace}`);
    if (dominates(outcome, reference)) dominated++;
    if (waitsMet(outcome, reference)) met++;
    ratios += reference.floorHours === 0 ? 1 : outcome.instanceHours / reference.floorHours;
    totalCost += outcome.totalCostHours;
    calls += outcome.callsPerHour;
  }
  return {
    point,
    dominates: dominated,
    waitsMet: met,
    floorRatio: ratios / references.length,
    totalCost,
    callsPerHour: calls / references.length,
  };
}

/** Negative when `a` ranks before `b`. */
export function compareScores<T extends Rankable>(a: GoalScore<T>, b: GoalScore<T>): number {
  return Number(a.point.unsafe) - Number(b.point.unsafe) ||
    b.dominates - a.dominates ||
    b.waitsMet - a.waitsMet ||
    a.floorRatio - b.floorRatio ||
    a.totalCost - b.totalCost;
}

/** Every point's score, best first (ties keep the points' order). */
export function rankByGoal<T extends Rankable>(points: readonly T[], references: readonly GoalReference[]): GoalScore<T>[] {
  return points.map((point) => goalScore(point, references)).sort(compareScores);
}
