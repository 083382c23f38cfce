/** §0: the cost goal of issue 13, trace by trace (computed by sim/goal.ts). */
import { FLOOR_RATIO_LIMIT, type TraceGoal } from '../sim/goal';
import { DEFAULT_PRICES, OURS_LAMBDA, SPACELIFT_LAMBDA } from '../sim/prices';
import { type Column, fmtHours, fmtRatio, fmtSeconds, markdownTable } from '../sim/report';

const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const bill = (hours: { totalCostHours: number; instanceHours: number; lambdaHours: number }) =>
  `${fmtHours(hours.totalCostHours)} (${fmtHours(hours.instanceHours)} + ${fmtHours(hours.lambdaHours)})`;

/** The goal table's columns; traces not in `tuning` are marked held out. */
export function goalColumns(tuning: readonly string[]): Column<TraceGoal>[] {
  return [
    { title: 'trace', value: (g) => (tuning.includes(g.trace) ? g.trace : `${g.trace} (held out)`), right: false },
    { title: 'ours p95 / mean s', value: (g) => `${fmtSeconds(g.ours.wait.p95)} / ${fmtSeconds(g.ours.wait.mean)}` },
    { title: 'anchor raised p95 / mean s', value: (g) => `${fmtSeconds(g.anchorRaised.wait.p95)} / ${fmtSeconds(g.anchorRaised.wait.mean)}` },
    { title: 'waits met', value: (g) => yes(g.waitMet), right: false },
    { title: 'ours total h (inst + Lambda)', value: (g) => bill(g.ours) },
    { title: 'anchor defaults total h', value: (g) => bill(g.anchorDefaults) },
    { title: 'cost ratio', value: (g) => fmtRatio(g.ours.totalCostHours, g.anchorDefaults.totalCostHours) },
    { title: 'cost met', value: (g) => (g.costMet ? 'yes' : g.costInfeasible ? '**no** (infeasible)' : '**no**'), right: false },
    { title: 'bound at raised p95 h', value: (g) => fmtHours(g.boundHours) },
    { title: 'floor h', value: (g) => fmtHours(g.floorHours) },
    { title: 'inst-h / floor', value: (g) => `${g.floorRatio.toFixed(2)}x` },
    { title: `floor <= ${FLOOR_RATIO_LIMIT}x`, value: (g) => yes(g.floorMet), right: false },
  ];
}

export function renderGoal(goals: readonly TraceGoal[], tuning: readonly string[]): string[] {
  const count = (pick: (g: TraceGoal) => boolean) => goals.filter(pick).length;
  const infeasible = goals.filter((g) => !g.costMet && g.costInfeasible).map((g) => g.trace);
  const missed = goals.filter((g) => !g.costMet && !g.costInfeasible).map((g) => g.trace);
  return [
    '## 0. The cost goal, trace by trace',
    '',
    `Ours at its defaults against Spacelift's autoscaler, on all ${goals.length} traces in bench/traces ` +
      `(the defaults were tuned on ${tuning.length} of them, §3; the others are held out). Cost is instance-hours plus each ` +
      `autoscaler's own Lambda bill converted to instance-hours at list prices (bench/sim/prices.ts: instance $${DEFAULT_PRICES.instanceHour}/h, ` +
      `ours ${OURS_LAMBDA.memoryMb} MB ${OURS_LAMBDA.architecture}, Spacelift's ${SPACELIFT_LAMBDA.memoryMb} MB ${SPACELIFT_LAMBDA.architecture}, ` +
      'Lambda bills sleeps too). The goal: total cost <= Spacelift\'s at its defaults, p95 and mean wait <= Spacelift\'s with caps raised ' +
      `to max size, and instance-hours within ${FLOOR_RATIO_LIMIT}x of the offline floor that pays every boot (bench/sim/floor.ts).`,
    '',
    markdownTable(goals, goalColumns(tuning)),
    '',
    `- Waits met on ${count((g) => g.waitMet)} of ${goals.length}; cost met on ${count((g) => g.costMet)}; ` +
      `within ${FLOOR_RATIO_LIMIT}x of the floor on ${count((g) => g.floorMet)}.`,
    `- Cost not met, and not possible for any policy that meets the p95 wait goal: ${infeasible.join(', ') || 'none'}. ` +
      '*bound at raised p95* is a proven lower bound (bench/sim/floor.ts) on the instance-hours of any policy whose p95 wait ' +
      'is within the raised-caps anchor\'s p95; where it exceeds the anchor\'s whole bill, the anchor is cheaper only because its runs wait longer.',
    `- Cost not met although the bound allows it: ${missed.join(', ') || 'none'}.` +
      (missed.length > 0
        ? ' Compare the launches column in §1: Spacelift\'s autoscaler reacts later (once a minute; at its defaults one instance ' +
          'per boot cycle), so queued runs often wait for a busy worker instead of a new instance, saving a boot each at the ' +
          'price of longer waits.'
        : ''),
    '',
  ];
}
