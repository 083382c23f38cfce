/**
 * The cost goal of issue 13, per trace (computing only; bench/run.ts renders it):
 * - cost: ours at its defaults costs no more than Spacelift's autoscaler at its defaults, both counted as
 *   instance-hours plus the autoscaler's own Lambda bill (prices.ts), and
 * - waits: ours has a p95 and a mean wait no longer than Spacelift's autoscaler with its caps raised, and
 * - instance-hours within `FLOOR_RATIO_LIMIT` of the offline floor that pays every boot (floor.ts).
 * Where the cost goal cannot be met together with the wait goal, `waitBoundedCostBound` proves it: every policy
 * whose p95 wait is within the raised-caps p95 needs more instance-hours than the anchor's whole bill.
 */
import type { SimResult } from './engine';
import { waitBoundedCostBound } from './floor';
import { costMet, goalReference, waitsMet, type TraceOutcome } from './goal-ranking';
import type { SimModel } from './model';
import type { Trace } from './trace';

export const FLOOR_RATIO_LIMIT = 1.1;

export interface TraceGoal {
  readonly trace: string;
  readonly ours: SimResult;
  readonly anchorDefaults: SimResult;
  readonly anchorRaised: SimResult;
  readonly floorHours: number;
  /** Instance-hours any policy needs for a p95 wait within the raised-caps anchor's p95. */
  readonly boundHours: number;
  readonly costMet: boolean;
  readonly waitMet: boolean;
  readonly floorRatio: number;
  readonly floorMet: boolean;
  /** The cost goal cannot be met by any policy that meets the p95 wait goal. */
  readonly costInfeasible: boolean;
}

export function evaluateGoal(trace: Trace, model: SimModel, ours: SimResult, anchorDefaults: SimResult, anchorRaised: SimResult): TraceGoal {
  const reference = goalReference(trace, model, anchorDefaults, anchorRaised);
  const outcome: TraceOutcome = {
    trace: trace.name,
    p95: ours.wait.p95,
    mean: ours.wait.mean,
    instanceHours: ours.instanceHours,
    totalCostHours: ours.totalCostHours,
    callsPerHour: 0,
  };
  const floorHours = reference.floorHours;
  const boundHours = waitBoundedCostBound(trace, model, anchorRaised.wait.p95).instanceHoursAtLeast;
  const floorRatio = floorHours === 0 ? 1 : ours.instanceHours / floorHours;
  return {
    trace: trace.name,
    ours,
    anchorDefaults,
    anchorRaised,
    floorHours,
    boundHours,
    costMet: costMet(outcome, reference),
    waitMet: waitsMet(outcome, reference),
    floorRatio,
    floorMet: floorRatio <= FLOOR_RATIO_LIMIT,
    costInfeasible: boundHours > anchorDefaults.totalCostHours,
  };
}
