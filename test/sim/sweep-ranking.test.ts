/**
 * The sweep's ranking by the cost goal (bench/sim/goal-ranking.ts) on synthetic outcomes, the API-calls-per-hour
 * figure, and the grid helpers of bench/sim/sweep.ts.
 */
import { FULL_GRID } from '../../bench/measure/tuning';
import { callsPerHour } from '../../bench/sim/call-rate';
import { compareScores, dominates, type GoalReference, goalScore, rankByGoal, type TraceOutcome, waitsMet } from '../../bench/sim/goal-ranking';
import { DEFAULT_MODEL } from '../../bench/sim/model';
import { gridSettings, label, sameSetting, settingOf, simulateSettings } from '../../bench/sim/sweep';
import { parseTrace } from '../../bench/sim/trace';
import { SHIPPED } from '../../bench/suite';
import { DEFAULT_BREAK_EVEN } from '../../lambda/core/scale-down-delay';

/** Two traces: on each the anchor costs 10 h, waits p95 100 s / mean 50 s, and the floor is 8 h. */
const references: GoalReference[] = ['a', 'b'].map((trace) => ({ trace, anchorCost: 10, anchorP95: 100, anchorMean: 50, floorHours: 8 }));

interface Synthetic {
  readonly name: string;
  readonly perTrace: TraceOutcome[];
  readonly unsafe: boolean;
}

/**
 * A setting whose outcome on trace a and b is given as [cost, p95, mean, instance-hours]; calls/h 100 on each.
 */
function point(name: string, a: [number, number, number, number], b: [number, number, number, number], unsafe = false): Synthetic {
  const outcome = (trace: string, [totalCostHours, p95, mean, instanceHours]: [number, number, number, number]) =>
    ({ trace, totalCostHours, p95, mean, instanceHours, callsPerHour: 100 });
  return { name, perTrace: [outcome('a', a), outcome('b', b)], unsafe };
}

// Each neighbouring pair in the expected order is decided by one criterion, so dropping, swapping or reversing any
// criterion changes the order (the list is shuffled so that a criterion left out is not rescued by the input order).
const POINTS = [
  // 2 traces where waits are met, 0 dominated (too dear on both): after C, which dominates one, before any with fewer waits met.
  point('G', [11, 90, 40, 8], [11, 90, 40, 8]),
  // Like B with a dearer total (21): right after B.
  point('E', [9, 90, 40, 8], [12, 90, 40, 8]),
  // Unsafe: last although it dominates both.
  point('F', [9, 90, 40, 8], [9, 90, 40, 8], true),
  // Dominates a; waits met on both; floor ratio (8/8 + 8/8) / 2 = 1.00; cost 9 + 11 = 20.
  point('B', [9, 90, 40, 8], [11, 90, 40, 8]),
  // Dominates both: first, despite a worse floor ratio (1.25) and cost (20) than B's.
  point('A', [10, 100, 50, 10], [10, 100, 50, 10]),
  // Dominates a, waits met on one only (b's mean 51 > 50): after every setting with waits met on both.
  point('C', [9, 90, 40, 6], [9, 90, 51, 6]),
  // Like B with a worse floor ratio (1.0625) but a lower total (19.5): after E (the floor ratio comes before the cost).
  point('D', [9, 90, 40, 9], [10.5, 90, 40, 8]),
];

describe('ranking settings by the goal', () => {
  test('dominance, then waits met, then the floor ratio, then total cost; unsafe settings last', () => {
    // D on b: cost 10.5 > 10, so it dominates a only, like B and E.
    expect(rankByGoal(POINTS, references).map((s) => s.point.name)).toEqual(['A', 'B', 'E', 'D', 'C', 'G', 'F']);
  });

  test('the score counts traces and averages the floor ratio and calls; totals the cost', () => {
    const score = goalScore(point('x', [9, 90, 40, 8], [12, 101, 40, 12]), references);
    expect(score).toMatchObject({ dominates: 1, waitsMet: 1, floorRatio: 1.25, totalCost: 21, callsPerHour: 100 });
  });

  test('met within floating-point noise; a longer mean alone or a higher cost alone is not dominance', () => {
    const reference = references[0];
    const outcome = (totalCostHours: number, p95: number, mean: number): TraceOutcome =>
      ({ trace: 'a', totalCostHours, p95, mean, instanceHours: 1, callsPerHour: 0 });
    expect(dominates(outcome(10 + 1e-12, 100 + 1e-12, 50), reference)).toBe(true);
    expect(waitsMet(outcome(10, 100, 50.5), reference)).toBe(false);
    expect(dominates(outcome(10.01, 100, 50), reference)).toBe(false);
    expect(waitsMet(outcome(10.01, 100, 50), reference)).toBe(true);
  });

  test('compareScores is negative when the first ranks first', () => {
    const [a, b] = ['A', 'B'].map((name) => goalScore(POINTS.find((p) => p.name === name)!, references));
    expect(compareScores(a, b)).toBeLessThan(0);
    expect(compareScores(b, a)).toBeGreaterThan(0);
  });

  test('a floor of 0 h counts as ratio 1, and a trace without an outcome is an error', () => {
    const zero = [{ ...references[0], floorHours: 0 }];
    expect(goalScore(point('x', [1, 1, 1, 5], [1, 1, 1, 5]), zero).floorRatio).toBe(1);
    expect(() => goalScore(point('x', [1, 1, 1, 5], [1, 1, 1, 5]), [{ ...references[0], trace: 'c' }])).toThrow(/no outcome for trace c/);
  });
});

describe('API calls per hour', () => {
  test('Spacelift plus AWS calls over the simulated hours', () => {
    expect(callsPerHour({ calls: { spacelift: 30, aws: 60 }, endTime: 1800 })).toBe(180);
    expect(callsPerHour({ calls: { spacelift: 0, aws: 0 }, endTime: 0 })).toBe(0);
  });

  test('the sweep reports each trace\'s rate, and polling every 5 s costs far more calls than every 15 s', async () => {
    const trace = parseTrace('submit_s,duration_s\n0,600\n30,600\n900,300', 'calls.csv');
    const model = { ...DEFAULT_MODEL, boot: { kind: 'fixed' as const, value: 90 }, maxSize: 3 };
    const base = { ...SHIPPED, pollWhen: 'always' as const };
    const [five, fifteen] = await simulateSettings([trace], model, base, [5, 15].map((poll) => ({ ...settingOf(base), pollIntervalSeconds: poll })));
    expect(five.perTrace[0].callsPerHour).toBe(five.callsPerHour);
    expect(five.callsPerHour).toBeGreaterThan(2 * fifteen.callsPerHour);
  });
});

describe('sweep grid', () => {
  test('the benchmark grid: 5 delays x 4 horizons x 2 poll modes, each once', () => {
    const settings = gridSettings(FULL_GRID, SHIPPED);
    expect(settings).toHaveLength(40);
    expect(new Set(settings.map(label)).size).toBe(40);
    expect(settings.some((s) => sameSetting(s, settingOf(SHIPPED)))).toBe(true);
  });

  test('missing lists take the base options\' value; labels are ours: overrides', () => {
    const [only] = gridSettings({ pollIntervals: [10], delays: ['fixed:30'], maxTerminate: [2] }, SHIPPED);
    expect(label(only)).toBe(`poll=10/delay=fixed:30/maxTerminate=2/soon=${SHIPPED.scaling.busyFinishingWithinSeconds}/pollWhen=${SHIPPED.pollWhen}`);
  });

  test('breakEven equals its spelt-out defaults', () => {
    const setting = settingOf(SHIPPED);
    const { bootSeconds, minSeconds, maxSeconds } = DEFAULT_BREAK_EVEN;
    const spelt = `breakEven:boot=${bootSeconds},min=${minSeconds},max=${maxSeconds}`;
    expect(sameSetting({ ...setting, delay: 'breakEven' }, { ...setting, delay: spelt })).toBe(true);
    expect(sameSetting({ ...setting, delay: 'breakEven' }, { ...setting, delay: `breakEven:boot=${bootSeconds + 1}` })).toBe(false);
    expect(sameSetting(setting, { ...setting, soon: setting.soon + 1 })).toBe(false);
  });
});
