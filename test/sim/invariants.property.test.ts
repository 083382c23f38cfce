/**
 * Fault mode: random Spacelift and AWS call failures (some applied anyway, as after a timeout),
 * instance deaths and boot failures, on random short traces and random settings of our autoscaler.
 * Faults last until ten minutes after the last run could have ended (so scale-in, drains and
 * undrains run under faults too); the simulation then runs on until the fleet settles (or two hours
 * pass). Invariants:
 *
 * 1. no worker is busy when our autoscaler (or anything else) starts terminating its instance;
 * 2. desired capacity stays within [min, max], and AWS never refuses a SetDesiredCapacity;
 * 3. with max > 0, every run eventually starts;
 * 4. no live instance is left with a drained worker.
 *
 * Lambda cold starts are a separate property: they lose the executor's pending undrains (kept in
 * the container's memory), which can strand a drained worker and so break 3 and 4 -- see the
 * KNOWN GAP test at the end. With cold starts, invariants 1 and 2 are checked.
 *
 * Scenarios: SIM_PROPERTY_RUNS per property (default 1,000, and 500 with cold starts, in the unit
 * suite; `npm run bench` runs 10,000 of each with `SIM_PROPERTY_RUNS=10000`). Liveness (3) needs stray replacement on (maxStraysPerTick >= 1: with
 * it off, an instance whose boot failed holds a max-size slot forever, by design) and a
 * registration grace longer than the slowest boot (a shorter grace declares healthy booting
 * instances strays and replaces them, a misconfiguration).
 */
import fc from 'fast-check';
import { DEFAULT_SCALING_CONFIG, type ScalingConfig } from '../../lambda/core/config';
import { parseScaleDownDelay } from '../../lambda/core/scale-down-delay';
import { simulate } from '../../bench/sim/engine';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { oursPolicy } from '../../bench/sim/policies/ours';
import type { Trace } from '../../bench/sim/trace';
import { World } from '../../bench/sim/world';

const RUNS = Number(process.env.SIM_PROPERTY_RUNS ?? 1000);
/** The cold-start property is a variant of the first; half as many runs keep the unit suite under 30 s. */
const COLD_START_RUNS = Number(process.env.SIM_PROPERTY_RUNS ?? 500);

interface Scenario {
  readonly runs: { submit: number; duration: number }[];
  readonly model: SimModel;
  readonly scaling: ScalingConfig;
  readonly poll: number;
  /** Cold starts lose the executor's pending undrains (see the separate test below). */
  readonly coldStarts: boolean;
}

const runsArb = fc.array(
  fc.record({ submit: fc.integer({ min: 0, max: 900 }), duration: fc.integer({ min: 0, max: 900 }) }),
  { minLength: 1, maxLength: 10 },
);

const scenarioArb = (coldStarts: boolean): fc.Arbitrary<Scenario> =>
  fc
    .record({
      runs: runsArb,
      minSize: fc.integer({ min: 0, max: 2 }),
      extra: fc.integer({ min: 0, max: 4 }),
      initial: fc.integer({ min: 0, max: 3 }),
      bootMin: fc.integer({ min: 20, max: 150 }),
      bootSpread: fc.integer({ min: 0, max: 120 }),
      latency: fc.constantFrom(0, 0.2, 1, 3),
      callFailureRate: fc.constantFrom(0, 0.05, 0.2, 0.4),
      appliedOnFailure: fc.constantFrom(0, 0.5, 1),
      failureLatency: fc.constantFrom(1, 5, 15),
      deaths: fc.constantFrom(0, 0.5, 3),
      bootFailureRate: fc.constantFrom(0, 0.1, 0.3),
      hook: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
      poll: fc.constantFrom(5, 10, 15, 30, 60),
      delay: fc.constantFrom('fixed:0', 'fixed:30', 'fixed:120', 'breakEven', 'breakEven:boot=60,min=0,max=300'),
      maxTerminate: fc.integer({ min: 0, max: 3 }),
      maxStrays: fc.integer({ min: 1, max: 2 }),
      maxCreate: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      minIdle: fc.integer({ min: 0, max: 1 }),
      graceExtra: fc.integer({ min: 30, max: 300 }),
      warmup: fc.constantFrom(0, 300),
    })
    .map((r): Scenario => {
      const bootMax = r.bootMin + r.bootSpread;
      const lastEnd = Math.max(...r.runs.map((run) => run.submit + run.duration));
      return {
        runs: r.runs,
        poll: r.poll,
        coldStarts,
        model: {
          ...DEFAULT_MODEL,
          boot: { kind: 'uniform', min: r.bootMin, max: bootMax },
          minSize: r.minSize,
          maxSize: r.minSize + r.extra,
          initialInstances: r.initial,
          latency: { spacelift: r.latency, aws: r.latency / 2 },
          lifecycleHook: r.hook,
          seed: r.seed,
          settleLimitSeconds: 2 * 3600,
          warmupSeconds: r.warmup,
          faults: {
            callFailureRate: r.callFailureRate,
            appliedOnFailure: r.appliedOnFailure,
            failureLatency: r.failureLatency,
            deathsPerInstanceHour: r.deaths,
            bootFailureRate: r.bootFailureRate,
            coldStartsPerHour: coldStarts ? 20 : 0,
            until: lastEnd + 600,
          },
        },
        scaling: {
          ...DEFAULT_SCALING_CONFIG,
          scaleDownDelay: parseScaleDownDelay(r.delay),
          maxTerminatePerTick: r.maxTerminate,
          maxStraysPerTick: r.maxStrays,
          maxCreatePerTick: r.maxCreate,
          minIdle: r.minIdle,
          registrationGraceSeconds: bootMax + r.graceExtra,
        },
      };
    });

function toTrace(scenario: Scenario): Trace {
  const sorted = [...scenario.runs].sort((a, b) => a.submit - b.submit);
  return { name: 'property', runs: sorted.map((run, id) => ({ id, submit: run.submit, duration: run.duration })) };
}

/** Runs a scenario on a world we keep, to inspect its end state. */
async function run(scenario: Scenario) {
  const trace = toTrace(scenario);
  const policy = oursPolicy({ scaling: scenario.scaling, pollIntervalSeconds: scenario.poll, scheduleSeconds: 60 });
  let world: World | undefined;
  const result = await simulate(trace, {
    ...policy,
    attach(w) {
      world = w;
      return policy.attach(w);
    },
  }, scenario.model);
  return { result, world: world! };
}

/** Workers left drained on instances that are still live (InService or Pending) in the group. */
function strandedDrained(world: World): string[] {
  return world
    .liveWorkers()
    .filter((w) => w.drained && w.instance.inAsg && !w.instance.dead && (w.instance.state === 'InService' || w.instance.state === 'Pending'))
    .map((w) => w.id);
}

type Result = Awaited<ReturnType<typeof run>>['result'];

function checkSafety(scenario: Scenario, result: Result, world: World): void {
  const { model } = scenario;
  expect(result.busyTerminated).toBe(0);
  expect(result.world.desiredOutOfRange).toBe(0);
  expect(result.world.validationErrors['asg.setDesiredCapacity'] ?? 0).toBe(0);
  expect(world.desired).toBeGreaterThanOrEqual(model.minSize);
  expect(world.desired).toBeLessThanOrEqual(model.maxSize);
}

function checkLiveness(scenario: Scenario, result: Result, world: World): void {
  if (scenario.model.maxSize > 0) expect(result.unstarted).toBe(0);
  expect(strandedDrained(world)).toEqual([]);
}

describe('fault-mode invariants of our autoscaler', () => {
  test(`${RUNS} random short scenarios with faults: safety and liveness`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(false), async (scenario) => {
        const { result, world } = await run(scenario);
        checkSafety(scenario, result, world);
        checkLiveness(scenario, result, world);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  test(`${COLD_START_RUNS} random short scenarios with faults and cold starts: safety`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(true), async (scenario) => {
        const { result, world } = await run(scenario);
        checkSafety(scenario, result, world);
      }),
      { numRuns: COLD_START_RUNS },
    );
  }, 600_000);

  test('KNOWN GAP: a cold start between a failed undrain and its retry leaves the worker drained for good', async () => {
    // One idle worker, scale-down delay 0, one tick per invocation and a cold start at every
    // invocation. The first tick drains the worker: the drain times out but was applied, and the
    // executor's undrain fails too, so the undrain is pending in that container's memory. The next
    // invocation starts cold, sees a drained worker on an InService instance, and (by design) leaves
    // it alone: neither capacity nor a scale-in candidate nor a stray. Nothing ever undrains or
    // terminates it. When the autoscaler learns to recover such orphaned drains without memory
    // (e.g. terminate a drained, idle worker's instance after a grace period), flip this test.
    const model: SimModel = {
      ...DEFAULT_MODEL,
      minSize: 0,
      maxSize: 2,
      initialInstances: 1,
      settleLimitSeconds: 3600,
      faults: { ...DEFAULT_MODEL.faults, coldStartsPerHour: 3600 * 60 },
    };
    const policy = oursPolicy({
      scaling: { ...DEFAULT_SCALING_CONFIG, scaleDownDelay: parseScaleDownDelay('fixed:0') },
      pollIntervalSeconds: 60,
      scheduleSeconds: 60,
      loopSeconds: 0,
    });
    let world: World | undefined;
    const result = await simulate({ name: 'gap', runs: [] }, {
      ...policy,
      attach(w) {
        world = w;
        w.scriptFailure('spacelift.drain', true);
        w.scriptFailure('spacelift.undrain', false);
        return policy.attach(w);
      },
    }, model);
    expect(result.invocations.coldStarts).toBeGreaterThan(0);
    expect(result.settled).toBe(false);
    expect(strandedDrained(world!)).toEqual(['w-00000']);
  });
});
