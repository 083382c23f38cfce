/**
 * The fast check of the cost goal (issue 13): our autoscaler at its defaults against the model of Spacelift's
 * autoscaler, on the traces of the suite where BENCHMARKS.md §0 shows the goal met, in a deterministic simulation
 * (no timing). It fails if ours costs more (instance-hours plus its Lambda bill) than Spacelift's at its defaults, or
 * waits longer (p95 or mean) than Spacelift's with its caps raised, on any of them. The full suite is `npm run bench`.
 */
import { join } from 'node:path';
import { simulate } from '../../bench/sim/engine';
import { evaluateGoal } from '../../bench/sim/goal';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { DEFAULT_OURS, oursPolicy } from '../../bench/sim/policies/ours';
import { SPACELIFT_V2_DEFAULTS, spaceliftV2Policy } from '../../bench/sim/policies/spacelift-v2';
import { loadTrace } from '../../bench/sim/trace';

const MODEL: SimModel = { ...DEFAULT_MODEL, boot: { kind: 'fixed', value: 90 }, maxSize: 20 };
const TRACES = ['night', 'night-sparse', 'weekend', 'chains', 'chains-deep', 'long-tail', 'business-day-light', 'burst-40'];

describe.each(TRACES)('cost goal on %s', (name) => {
  test('ours at its defaults costs no more than Spacelift\'s defaults and waits no longer than its raised caps', async () => {
    const trace = loadTrace(join(__dirname, '../../bench/traces', `${name}.csv`));
    const ours = await simulate(trace, oursPolicy(DEFAULT_OURS), MODEL);
    const anchorDefaults = await simulate(trace, spaceliftV2Policy(SPACELIFT_V2_DEFAULTS), MODEL);
    const anchorRaised = await simulate(trace, spaceliftV2Policy({ ...SPACELIFT_V2_DEFAULTS, maxCreate: 20, maxKill: 20 }), MODEL);
    const goal = evaluateGoal(trace, MODEL, ours, anchorDefaults, anchorRaised);
    expect({ trace: name, cost: ours.totalCostHours, busyTerminated: ours.busyTerminated }).toEqual({
      trace: name,
      cost: expect.any(Number),
      busyTerminated: 0,
    });
    expect(goal.costMet).toBe(true);
    expect(goal.waitMet).toBe(true);
  });
});
