/**
 * The event engine on tiny traces whose waits and instance-hours are worked out by hand. API
 * latencies are zero so every time below is exact.
 */
import { lowerBoundHours, peakConcurrency, percentile, simulate } from '../../bench/sim/engine';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { oursPolicy } from '../../bench/sim/policies/ours';
import { spaceliftV2Policy } from '../../bench/sim/policies/spacelift-v2';
import { emptyStats, type Policy } from '../../bench/sim/policy';
import { OURS_LAMBDA, SPACELIFT_LAMBDA } from '../../bench/sim/prices';
import { parseTrace, type Trace } from '../../bench/sim/trace';
import { DEFAULT_SCALING_CONFIG } from '../../lambda/core/config';
import { ScaleDownDelay } from '../../lambda/core/scale-down-delay';

const exact: SimModel = {
  ...DEFAULT_MODEL,
  boot: { kind: 'fixed', value: 90 },
  inServiceSeconds: 40,
  terminateSeconds: 20,
  latency: { spacelift: 0, aws: 0 },
  maxSize: 5,
};

function trace(csv: string): Trace {
  return parseTrace(`submit_s,duration_s\n${csv}`, 'test.csv');
}

/** A policy that never acts: the pool is whatever the model starts with. */
const idlePolicy: Policy = { label: 'none', kind: 'ours', lambda: OURS_LAMBDA, settings: '', attach: () => emptyStats() };

// Polling every 15 s of each invocation, so that the hand computations below follow the grid (when the default
// ends an invocation early is covered in test/autoscaler/loop.test.ts and test/sim/cost-goal.test.ts).
const ours = oursPolicy({
  scaling: { ...DEFAULT_SCALING_CONFIG, scaleDownDelay: ScaleDownDelay.fixed(0), busyFinishingWithinSeconds: 0 },
  pollIntervalSeconds: 15,
  scheduleSeconds: 60,
  pollWhen: 'always',
});

describe('engine on hand-computed traces', () => {
  test('a fixed pool: runs take the newest idle worker, a third run waits for the first to finish', async () => {
    // Two idle instances from t=0. A and B start at once; C (t=10) waits until A ends at 100.
    const result = await simulate(trace('0,100\n0,100\n10,50'), idlePolicy, { ...exact, minSize: 2, initialInstances: 2 });
    expect(result.wait.max).toBe(90);
    expect(result.wait.p50).toBe(0);
    expect(result.endTime).toBe(150);
    expect(result.settled).toBe(true);
    // Both instances billed from 0 to 150.
    expect(result.instanceHours).toBeCloseTo(300 / 3600, 10);
    expect(result.busyHours).toBeCloseTo(250 / 3600, 10);
    expect(result.idleHours).toBeCloseTo(50 / 3600, 10);
    expect(result.launches).toBe(0);
  });

  test('a worker that frees up at the instant a run arrives takes it with no wait', async () => {
    const result = await simulate(trace('0,60\n60,10'), idlePolicy, { ...exact, minSize: 1, initialInstances: 1 });
    expect(result.wait.max).toBe(0);
    expect(result.endTime).toBe(70);
  });

  test('ours: one run, launched on the first tick that sees it, released on the first tick after it ends', async () => {
    // Invocations at 0, 60, 120, ... tick every 15 s. The run is queued at 10, seen at 15, the
    // instance launches at 15 and registers at 105 (wait 95). The run ends at 205; the tick at 210
    // drains and terminates the idle worker (delay 0); the instance is gone at 230.
    const result = await simulate(trace('10,100'), ours, exact);
    expect(result.wait).toEqual({ p50: 95, p95: 95, max: 95, mean: 95 });
    expect(result.endTime).toBe(230);
    expect(result.instanceHours).toBeCloseTo((230 - 15) / 3600, 10);
    expect(result.busyHours).toBeCloseTo(100 / 3600, 10);
    expect(result.launches).toBe(1);
    expect(result.scaleOuts).toBe(1);
    expect(result.scaleIns).toBe(1);
    expect(result.busyTerminated).toBe(0);
    expect(result.settled).toBe(true);
  });

  test('ours keeps an idle worker for the scale-down delay and reuses it', async () => {
    // Delay 120 s: the worker idle since 205 is still there when the second run arrives at 300.
    const keep = oursPolicy({
      scaling: { ...DEFAULT_SCALING_CONFIG, scaleDownDelay: ScaleDownDelay.fixed(120) },
      pollIntervalSeconds: 15,
      scheduleSeconds: 60,
      pollWhen: 'always',
    });
    const result = await simulate(trace('10,100\n300,50'), keep, exact);
    expect(result.launches).toBe(1);
    expect(result.wait.max).toBe(95);
    expect(result.wait.p50).toBe(0);
    // Idle from 350; the first tick at least 120 s later is 480; gone at 500.
    expect(result.endTime).toBe(500);
    expect(result.instanceHours).toBeCloseTo((500 - 15) / 3600, 10);
  });

  test('spacelift-v2: launched on the minute, released on the first minute after the run', async () => {
    // Invocation at 60 sees the run: desired 1, registers at 150 (wait 140). Runs to 250; the
    // invocation at 300 drains and terminates it; gone at 320.
    const result = await simulate(trace('10,100'), spaceliftV2Policy(), exact);
    expect(result.wait.max).toBe(140);
    expect(result.endTime).toBe(320);
    expect(result.instanceHours).toBeCloseTo((320 - 60) / 3600, 10);
    expect(result.scaleIns).toBe(1);
  });

  test('spacelift-v2 at its defaults adds one worker per boot cycle (the count-mismatch freeze)', async () => {
    // Three long runs at t=1: desired goes 1 (t=60), frozen until the worker registers at 150,
    // 2 (t=180), registered 270, 3 (t=300), registered 390. Waits: 149, 269, 389.
    const result = await simulate(trace('1,3600\n1,3600\n1,3600'), spaceliftV2Policy(), exact);
    expect(result.wait.p50).toBe(269);
    expect(result.wait.max).toBe(389);
    expect(result.scaleOuts).toBe(3);
  });

  test('spacelift-v2 with MAX_CREATE=3 launches for the whole queue at once', async () => {
    const result = await simulate(trace('1,3600\n1,3600\n1,3600'), spaceliftV2Policy({ maxCreate: 3, maxKill: 3 }), exact);
    expect(result.wait.max).toBe(149);
    expect(result.scaleOuts).toBe(1);
  });

  test('a chained run is queued its offset after its parent ends', async () => {
    const chained = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n5,50,b,a', 'chain.csv');
    // a runs 0-100 on the idle instance; b is queued at 105 and starts at once.
    const result = await simulate(chained, idlePolicy, { ...exact, minSize: 1, initialInstances: 1 });
    expect(result.wait.max).toBe(0);
    expect(result.endTime).toBe(155);
  });

  test('instances terminated without a lifecycle hook take their run with them', async () => {
    // ASG max 1 and a policy that lowers desired to 0 mid-run (AWS picks the busy instance).
    const lowering: Policy = {
      label: 'lower',
      kind: 'spacelift-v2',
      lambda: SPACELIFT_LAMBDA,
      settings: '',
      attach(world) {
        world.at(50, () => {
          world.setDesiredCapacity(0);
        });
        return emptyStats();
      },
    };
    const model = { ...exact, minSize: 0, maxSize: 1, initialInstances: 1, lifecycleHook: false };
    const result = await simulate(trace('0,100'), lowering, model);
    expect(result.busyTerminated).toBe(1);
    expect(result.runsKilled).toBe(1);
    const hooked = await simulate(trace('0,100'), lowering, { ...model, lifecycleHook: true });
    expect(hooked.busyTerminated).toBe(1);
    expect(hooked.runsKilled).toBe(0);
    // The hook waits for the run (ends at 100), then 20 s of shutdown.
    expect(hooked.endTime).toBe(120);
  });
});

/** Sets desired capacity at the given times and otherwise ticks every minute, like a deployed autoscaler. */
function scripted(steps: [number, number][]): Policy {
  return {
    label: 'scripted',
    kind: 'ours',
    lambda: OURS_LAMBDA,
    settings: '',
    attach(world) {
      for (const [at, desired] of steps) world.at(at, () => world.setDesiredCapacity(desired));
      const tick = (at: number): void => world.at(at, () => tick(at + 60));
      tick(0);
      return emptyStats();
    },
  };
}

describe('when a simulation ends', () => {
  test('a policy that keeps two idle workers ends without a long tail, billed for them through the quiet time', async () => {
    // minIdle 2: the warm-up launches two idle instances (billed from 0). The run at 10 takes one; the tick at
    // 15 launches a third (registered at 105); the run ends at 110; the tick at 120 releases one, gone at 140:
    // the last change. Two instances stay idle for good; the simulation ends 30 quiet minutes later and bills
    // them up to then (keeping instances is never free): 2 x 1940 + (140 - 15) instance-seconds, not six hours.
    const keepTwo = oursPolicy({
      scaling: { ...DEFAULT_SCALING_CONFIG, minIdle: 2, scaleDownDelay: ScaleDownDelay.fixed(0) },
      pollIntervalSeconds: 15,
      scheduleSeconds: 60,
    });
    const result = await simulate(trace('10,100'), keepTwo, exact);
    expect(result.settled).toBe(true);
    expect(result.endTime).toBe(140 + 1800);
    expect(result.instanceHours).toBeCloseTo((2 * 1940 + (140 - 15)) / 3600, 10);
    expect(result.timeline[result.timeline.length - 1]).toEqual({ t: 140, queued: 0, busy: 0, instances: 2, desired: 2 });
  });

  test('any change restarts the quiet time; an instance held above min size is billed through it', async () => {
    // Desired 2 from 0: the run waits for a boot (90) and ends at 190. At 1000 desired drops to 1: one idle
    // instance is gone at 1020, the last change (a quiet time counted from 190 would have ended at 1990); the
    // other is held, and billed through the quiet time that follows.
    const result = await simulate(trace('0,100'), scripted([[0, 2], [1000, 1]]), exact);
    expect(result.settled).toBe(true);
    expect(result.endTime).toBe(1020 + 1800);
    expect(result.instanceHours).toBeCloseTo((1020 + 2820) / 3600, 10);
  });

  test('a policy back at min size ends at once, whatever the quiet time: as before', async () => {
    // The hand-computed spacelift-v2 case above: gone at 320, min size 0.
    const short = await simulate(trace('10,100'), spaceliftV2Policy(), { ...exact, quietSeconds: 60 });
    const long = await simulate(trace('10,100'), spaceliftV2Policy(), { ...exact, quietSeconds: 6 * 3600 });
    expect(short.endTime).toBe(320);
    expect(short.settled).toBe(true);
    expect(long).toEqual(short);
  });

  test('a fleet that never stays quiet is cut at the settle limit, billed up to it, and flagged', async () => {
    // Desired flips between 1 and 2 every 10 minutes: never 30 quiet minutes. Limit: 100 + 3600; the first
    // event at or after it is the tick at 3720.
    const flips: [number, number][] = Array.from({ length: 12 }, (_, i) => [i * 600, 1 + (i % 2)]);
    const result = await simulate(trace('0,100'), scripted(flips), { ...exact, settleLimitSeconds: 3600 });
    expect(result.settled).toBe(false);
    expect(result.endTime).toBe(3720);
    expect(result.instanceHours).toBeGreaterThan(3720 / 3600);
  });
});

describe('summary helpers', () => {
  test('percentile uses the nearest rank', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(values, 0.95)).toBe(19);
    expect(percentile(values, 0.5)).toBe(10);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  test('peak concurrency counts a run ending at t and one starting at t as not overlapping', () => {
    expect(peakConcurrency(trace('0,10\n10,10\n5,10'))).toBe(2);
    expect(peakConcurrency(trace('0,10\n0,10\n0,10'))).toBe(3);
  });

  test('the lower bound is run time plus one fastest boot per instance the peak needs', () => {
    const model = { ...exact, boot: { kind: 'uniform' as const, min: 60, max: 180 }, maxSize: 2 };
    // Peak 3 capped at max size 2: two boots of 60 s, plus 300 s of runs.
    expect(lowerBoundHours(trace('0,100\n0,100\n0,100'), model)).toBeCloseTo((300 + 2 * 60) / 3600, 10);
    expect(lowerBoundHours(trace('0,100'), { ...model, minSize: 1, initialInstances: 1 })).toBeCloseTo(100 / 3600, 10);
  });
});
