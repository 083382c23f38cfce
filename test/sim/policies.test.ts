/** Spacelift's autoscaler model (`Decide` and the quirks it keeps) and world behaviours the policies rely on. */
import { simulate } from '../../bench/sim/engine';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { decideV2, SPACELIFT_V2_DEFAULTS, spaceliftV2Policy, type DecideInput } from '../../bench/sim/policies/spacelift-v2';
import { emptyStats, type Policy } from '../../bench/sim/policy';
import { OURS_LAMBDA } from '../../bench/sim/prices';
import { parseTrace } from '../../bench/sim/trace';
import { World } from '../../bench/sim/world';
import type { Worker } from '../../lambda/core/types';

const NOW = 1_704_067_200;

function worker(n: number, fields: Partial<Worker> = {}): Worker {
  return {
    id: `w${n}`,
    busy: false,
    drained: false,
    createdAt: NOW - 3600 + n,
    availableAt: NOW - 60,
    metadata: { valid: true, asgName: 'asg', instanceId: `i-${(0x10000000 + n).toString(16)}` },
    ...fields,
  };
}

function input(fields: Partial<DecideInput>): DecideInput {
  return { validWorkers: [], pendingRuns: 0, desired: 0, min: 0, max: 10, now: NOW, options: SPACELIFT_V2_DEFAULTS, ...fields };
}

describe('spacelift-v2 Decide', () => {
  test('freezes while valid workers differ from desired capacity', () => {
    expect(decideV2(input({ validWorkers: [worker(1)], desired: 2, pendingRuns: 5 })).kind).toBe('none');
  });

  test('scales up by at most MAX_CREATE and never past max size', () => {
    expect(decideV2(input({ pendingRuns: 5 }))).toEqual({ kind: 'up', n: 1 });
    expect(decideV2(input({ pendingRuns: 5, options: { ...SPACELIFT_V2_DEFAULTS, maxCreate: 20 } }))).toEqual({ kind: 'up', n: 5 });
    expect(decideV2(input({ pendingRuns: 50, max: 3, options: { ...SPACELIFT_V2_DEFAULTS, maxCreate: 20 } }))).toEqual({ kind: 'up', n: 3 });
  });

  test('target utilisation adds headroom', () => {
    const options = { ...SPACELIFT_V2_DEFAULTS, maxCreate: 20, targetUtilizationPercent: 50 };
    expect(decideV2(input({ pendingRuns: 3, options }))).toEqual({ kind: 'up', n: 6 });
  });

  test('scales down the oldest idle workers, at most MAX_KILL and never below min', () => {
    const workers = [worker(1), worker(2, { busy: true }), worker(3), worker(4)];
    const down = decideV2(input({ validWorkers: workers, desired: 4, options: { ...SPACELIFT_V2_DEFAULTS, maxKill: 2 } }));
    expect(down.kind === 'down' && down.workers.map((w) => w.id)).toEqual(['w1', 'w3']);
    const floor = decideV2(input({ validWorkers: workers, desired: 4, min: 3, options: { ...SPACELIFT_V2_DEFAULTS, maxKill: 5 } }));
    expect(floor.kind === 'down' && floor.n).toBe(1);
  });

  test('the scale-down delay counts from createdAt unless USE_IDLE_TIME', () => {
    const young = [worker(1, { createdAt: NOW - 120, availableAt: NOW - 10 })];
    const delay = { ...SPACELIFT_V2_DEFAULTS, scaleDownDelayMinutes: 1 };
    expect(decideV2(input({ validWorkers: young, desired: 1, options: delay })).kind).toBe('down');
    expect(decideV2(input({ validWorkers: young, desired: 1, options: { ...delay, useIdleTime: true } })).kind).toBe('none');
  });
});

const exact: SimModel = { ...DEFAULT_MODEL, latency: { spacelift: 0, aws: 0 }, maxSize: 5 };

describe('spacelift-v2 quirks', () => {
  test('a boot failure freezes scaling until the stray is reaped after 10 minutes', async () => {
    // Every launch fails to boot until t=200, so the first instance never registers: valid 0 != desired 1.
    const model = { ...exact, faults: { ...exact.faults, bootFailureRate: 1, until: 200 } };
    const result = await simulate(parseTrace('submit_s,duration_s\n10,60', 't'), spaceliftV2Policy(), model);
    // Launched at 60, a stray once older than 600 s: reaped at the 720 tick; the replacement registers at 810.
    expect(result.wait.max).toBe(800);
    expect(result.replacements).toBe(1);
  });

  test('v2.7 detach-then-terminate leaves a billed zombie when the terminate fails', async () => {
    const policy = spaceliftV2Policy({ version: '2.7' });
    const scripted: Policy = {
      ...policy,
      attach(world) {
        world.scriptFailure('ec2.terminateInstances', false);
        return policy.attach(world);
      },
    };
    const result = await simulate(parseTrace('submit_s,duration_s\n0,30', 't'), scripted, { ...exact, settleLimitSeconds: 3600 });
    expect(result.settled).toBe(false);
    // The detached instance keeps running (and billing) until the simulation gives up.
    expect(result.instanceHours).toBeGreaterThan(1);
    const clean = await simulate(parseTrace('submit_s,duration_s\n0,30', 't'), spaceliftV2Policy({ version: '2.7' }), exact);
    expect(clean.settled).toBe(true);
  });
});

describe('world', () => {
  test('a queued run goes to the newest idle worker', async () => {
    // Desired 2 at 0 (instances 0 and 1), 3 at 50 (instance 2, registering at 140). The run at 200 picks w-00002.
    const model = { ...exact, boot: { kind: 'fixed' as const, value: 90 }, warmupSeconds: 0 };
    const world = new World(model, parseTrace('submit_s,duration_s\n200,10', 't'));
    world.at(0, () => {
      world.setDesiredCapacity(2);
    });
    world.at(50, () => {
      world.setDesiredCapacity(3);
    });
    await world.run(() => world.now >= 205);
    expect(world.runs[0].workerId).toBe('w-00002');
  });

  test('a warm pool serves launches with its resume time, then cold boots', async () => {
    const model = { ...exact, warmPool: { size: 1, resumeSeconds: 20, stoppedCostRatio: 0.25 }, boot: { kind: 'fixed' as const, value: 90 } };
    const raise: Policy = {
      label: 'raise',
      kind: 'ours',
      lambda: OURS_LAMBDA,
      settings: '',
      attach(world) {
        world.at(0, () => {
          world.setDesiredCapacity(2);
        });
        return emptyStats();
      },
    };
    const result = await simulate(parseTrace('submit_s,duration_s\n0,100\n0,100', 't'), raise, { ...model, minSize: 0 });
    expect(result.wait.p50).toBe(20);
    expect(result.wait.max).toBe(90);
    expect(result.world.warmLaunches).toBe(1);
  });

  test('a warm pool bills each refill\'s warm-up boot in full and its stopped time at the stopped cost ratio', async () => {
    const model: SimModel = { ...exact, minSize: 0, warmPool: { size: 1, resumeSeconds: 20, stoppedCostRatio: 0.25 }, boot: { kind: 'fixed', value: 90 } };
    const raise = (steps: [number, number][]): Policy => ({
      label: 'raise',
      kind: 'ours',
      lambda: OURS_LAMBDA,
      settings: '',
      attach(world) {
        for (const [at, desired] of steps) world.at(at, () => world.setDesiredCapacity(desired));
        return emptyStats();
      },
    });
    const trace = parseTrace('submit_s,duration_s\n0,100\n200,100', 't');
    // Taken at 0, refilled by a 90 s warm-up boot at 90; taken again at 200 (warm: the pool was refilled), refilled at 290.
    const result = await simulate(trace, raise([[0, 1], [200, 2]]), model);
    expect(result.world.warmLaunches).toBe(2);
    expect(result.world.warmPrepareSeconds).toBe(180);
    expect(result.stoppedHours * 3600).toBeCloseTo((200 - 90) + (result.endTime - 290), 6);
    expect(result.costHours).toBeCloseTo(result.instanceHours + 0.25 * result.stoppedHours, 9);
    const running = result.world.warmPrepareSeconds + (result.endTime - 0) + (result.endTime - 200);
    expect(result.instanceHours * 3600).toBeCloseTo(running, 6);

    // A second launch before the refill is done boots cold.
    const early = await simulate(trace, raise([[0, 1], [50, 2]]), model);
    expect(early.world.warmLaunches).toBe(1);
  });

  test('without a warm pool nothing is stopped and the cost is the running instance-hours', async () => {
    const result = await simulate(parseTrace('submit_s,duration_s\n0,100', 't'), spaceliftV2Policy(), exact);
    expect(result.stoppedHours).toBe(0);
    expect(result.costHours).toBe(result.instanceHours);
  });

  test('AWS refuses desired capacity outside [min, max] and decrements below min', () => {
    const world = new World({ ...exact, minSize: 1, maxSize: 2, initialInstances: 1 }, parseTrace('submit_s,duration_s', 't'));
    expect(() => world.setDesiredCapacity(3)).toThrow(/outside the group's bounds/);
    expect(() => world.setDesiredCapacity(0)).toThrow(/outside the group's bounds/);
    const id = world.describeAsg().instances[0].id;
    expect(() => world.terminateInAsg(id, true)).toThrow(/min size/);
  });
});
