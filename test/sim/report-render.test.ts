/** The benchmark report's goal table (§0) and sweep ranking (§3), rendered from fake results. */
import type { Tuning } from '../../bench/measure/tuning';
import { renderGoal } from '../../bench/render/goal';
import { renderTuning } from '../../bench/render/tuning';
import type { SimResult } from '../../bench/sim/engine';
import type { TraceGoal } from '../../bench/sim/goal';
import { goalScore, rankByGoal } from '../../bench/sim/goal-ranking';
import { settingOf, type SweepPoint, type SweepSetting } from '../../bench/sim/sweep';
import { SHIPPED } from '../../bench/suite';

function result(p95: number, mean: number, instanceHours: number, lambdaHours: number): SimResult {
  return { wait: { p50: 0, p95, max: 0, mean }, instanceHours, lambdaHours, totalCostHours: instanceHours + lambdaHours } as unknown as SimResult;
}

const stormGoal: TraceGoal = {
  trace: 'drift-storm',
  ours: result(225, 150.4, 29.87, 0.07),
  anchorDefaults: result(965, 617, 26.81, 0.05),
  anchorRaised: result(270, 167, 28.35, 0.05),
  floorHours: 26.23,
  boundHours: 19.2,
  costMet: false,
  waitMet: true,
  floorRatio: 29.87 / 26.23,
  floorMet: false,
  costInfeasible: false,
};

const burstGoal: TraceGoal = {
  ...stormGoal,
  trace: 'burst',
  ours: result(146, 116, 2.72, 0),
  anchorDefaults: result(1068, 717, 2.17, 0),
  anchorRaised: result(147, 117, 2.52, 0),
  floorHours: 2.39,
  boundHours: 2.33,
  floorRatio: 2.72 / 2.39,
  costInfeasible: true,
};

describe('goal table', () => {
  const text = renderGoal([burstGoal, stormGoal], ['burst']).join('\n');

  test('one row per trace: waits, bills with their Lambda part, ratios and verdicts; held-out traces marked', () => {
    expect(text).toContain(
      '| drift-storm (held out) | 225 / 150 | 270 / 167 | yes | 29.94 (29.87 + 0.07) | 26.86 (26.81 + 0.05) | 1.11x | **no** | 19.20 | 26.23 | 1.14x | **no** |',
    );
    expect(text).toContain('| burst | 146 / 116 | 147 / 117 | yes | 2.72 (2.72 + 0.00) | 2.17 (2.17 + 0.00) | 1.25x | **no** (infeasible) |');
  });

  test('the summary counts the goals and names the traces that miss the cost', () => {
    expect(text).toContain('- Waits met on 2 of 2; cost met on 0; within 1.1x of the floor on 0.');
    expect(text).toContain('not possible for any policy that meets the p95 wait goal: burst.');
    expect(text).toContain('- Cost not met although the bound allows it: drift-storm.');
  });
});

describe('sweep ranking table', () => {
  const shipped = settingOf(SHIPPED);
  const references = [{ trace: 'burst', anchorCost: 10, anchorP95: 100, anchorMean: 50, floorHours: 8 }];
  const point = (setting: Partial<SweepSetting>, totalCostHours: number, instanceHours: number): SweepPoint => ({
    ...shipped,
    ...setting,
    wait: 40,
    waitP95: 90,
    callsPerHour: 100,
    cost: instanceHours,
    waitHours: 1,
    perTrace: [{ trace: 'burst', p95: 90, mean: 40, instanceHours, totalCostHours, callsPerHour: 100 }],
    unsafe: false,
  });
  // The defaults have the lowest floor ratio but cost more than the anchor (11 > 10): last. Both fixed:30 settings
  // dominate; soon=0 has the lower floor ratio, the shipped soon the lower cost. Written against the shipped values
  // (SHIPPED), so that changing a default does not change what this test checks.
  const points = [point({}, 11, 7), point({ delay: 'fixed:30' }, 9.5, 9), point({ delay: 'fixed:30', soon: 0 }, 9.8, 8.5)];
  const shippedSoon = shipped.soon;
  const shippedDelay = shipped.delay;
  const ranked = rankByGoal(points, references);
  const tuning: Tuning = {
    grid: { pollIntervals: [15], delays: [shippedDelay, 'fixed:30'], soon: [0, shippedSoon], maxTerminate: [5] },
    references,
    ranked,
    polls: [goalScore(ranked[0].point, references)],
    recommended: ranked[0],
    defaults: ranked.find((s) => s.point === points[0])!,
    recommendedIsDefault: false,
  };
  const text = renderTuning(tuning, []).join('\n');

  test('rows in rank order, the defaults marked, with the goal counts, floor ratio, cost and calls', () => {
    const rows = text.split('\n').filter((l) => /^\| \d+ \| `poll=/.test(l));
    expect(rows).toEqual([
      '| 1 | `poll=15/delay=fixed:30/maxTerminate=5/soon=0/pollWhen=needed` | 1/1 | 1/1 | 1.063x | 9.80 | 40.0 | 90 | 100 |',
      `| 2 | \`poll=15/delay=fixed:30/maxTerminate=5/soon=${shippedSoon}/pollWhen=needed\` | 1/1 | 1/1 | 1.125x | 9.50 | 40.0 | 90 | 100 |`,
      `| 3 | \`poll=15/delay=${shippedDelay}/maxTerminate=5/soon=${shippedSoon}/pollWhen=needed\` (defaults) | 0/1 | 1/1 | 0.875x | 11.00 | 40.0 | 90 | 100 |`,
    ]);
  });

  test('the recommendation names what changes from the shipped defaults', () => {
    expect(text).toContain(`- \`scaleDownDelay\`: \`fixed:30\` (now \`${shippedDelay}\`)`);
    expect(text).toContain(`- \`busyFinishingWithinSeconds\`: \`0\` (now \`${shippedSoon}\`)`);
    expect(text).toContain('- `POLL_WHEN`: `needed` (the default)');
    expect(text).toContain('The shipped defaults rank 3 of 3 in the grid.');
  });
});
