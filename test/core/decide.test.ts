import { decide, ScaleDownDelay, type ArrivalState, type AsgSnapshot, type PoolSnapshot } from '../../lambda/core';
import { asg, config, idleFleet, input, instance, instanceId, invalidWorker, NOW, pool, worker } from './builders';

const i1 = instanceId(1);
const i2 = instanceId(2);
const i3 = instanceId(3);

describe('capacity counts in-flight instances', () => {
  test('an instance booting without a worker yet is capacity, so a queued run does not launch another', () => {
    const plan = decide(input({ pool: pool([], 1), asg: asg({ instances: [instance(i1, { lifecycleState: 'Pending', launchTime: NOW - 60 })] }) }));
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.counts).toMatchObject({ launching: 1, registered: 0, capacity: 1, demand: 1 });
  });

  test('an instance without worker and unknown launch time is launching, never a stray', () => {
    const plan = decide(input({ pool: pool([], 1), asg: asg({ instances: [instance(i1, { launchTime: undefined })] }) }));
    expect(plan.strays).toEqual([]);
    expect(plan.counts).toMatchObject({ launching: 1, strays: 0, capacity: 1 });
    expect(plan.desiredCapacity).toBeUndefined();
  });

  test('desired capacity above the instance count is capacity not yet launched', () => {
    const plan = decide(input({ pool: pool([], 3), asg: asg({ desiredCapacity: 3, instances: [instance(i1, { lifecycleState: 'Pending', launchTime: NOW - 5 })] }) }));
    expect(plan.counts).toMatchObject({ launching: 3, notYetLaunched: 2, capacity: 3 });
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.scaleOutBy).toBe(0);
  });

  test('consecutive ticks never launch twice for the same queue', () => {
    const queue = pool([], 3);
    // Tick 1: nothing exists; raise desired.
    const first = decide(input({ pool: queue, asg: asg({ desiredCapacity: 0 }) }));
    expect(first.desiredCapacity).toBe(3);
    expect(first.scaleOutBy).toBe(3);
    // Tick 2: desired raised, the ASG has not created instances yet.
    const second = decide(input({ pool: queue, asg: asg({ desiredCapacity: 3, instances: [] }), now: NOW + 60 }));
    expect(second.desiredCapacity).toBeUndefined();
    // Tick 3: instances pending, no launch time yet.
    const pending = [i1, i2, i3].map((id) => instance(id, { lifecycleState: 'Pending', launchTime: undefined }));
    const third = decide(input({ pool: queue, asg: asg({ desiredCapacity: 3, instances: pending }), now: NOW + 120 }));
    expect(third.desiredCapacity).toBeUndefined();
    // Tick 4: workers registered and took the runs.
    const running = [i1, i2, i3].map((id) => instance(id, { launchTime: NOW + 60 }));
    const busy = running.map((inst, n) => worker(`w${n}`, inst.id, { busy: true, createdAt: NOW + 150 }));
    const fourth = decide(input({ pool: pool(busy, 0), asg: asg({ desiredCapacity: 3, instances: running }), now: NOW + 180 }));
    expect(fourth.desiredCapacity).toBeUndefined();
    expect(fourth.terminate).toEqual([]);
    expect(fourth.counts).toMatchObject({ busy: 3, capacity: 3, demand: 3 });
  });

  test('worker count different from desired does not freeze scaling (Spacelift bug)', () => {
    // Two busy workers, a third instance still booting, desired 3, and two more runs queued.
    const instances = [instance(i1), instance(i2), instance(i3, { lifecycleState: 'Pending', launchTime: NOW - 30 })];
    const workers = [worker('w1', i1, { busy: true }), worker('w2', i2, { busy: true })];
    const plan = decide(input({ pool: pool(workers, 2), asg: asg({ desiredCapacity: 3, instances }) }));
    expect(plan.counts).toMatchObject({ registered: 2, launching: 1, capacity: 3, demand: 4 });
    expect(plan.desiredCapacity).toBe(4);
  });

  test.each(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated', 'Detaching', 'Standby'])(
    'an instance in state %s is not capacity, nor its busy worker demand',
    (lifecycleState) => {
      const instances = [instance(i1), instance(i2, { lifecycleState })];
      const workers = [worker('w1', i1), worker('w2', i2, { busy: true })];
      const plan = decide(input({ pool: pool(workers, 1), asg: asg({ desiredCapacity: 1, instances }) }));
      expect(plan.counts).toMatchObject({ registered: 1, busy: 0, capacity: 1, demand: 1 });
      expect(plan.desiredCapacity).toBeUndefined();
      expect(plan.reasons).toContain(`1 workers name instances that are not live in workers-asg; not capacity`);
    },
  );

  test('a worker whose instance left the ASG is not capacity', () => {
    const plan = decide(input({ pool: pool([worker('w1', i1)], 1), asg: asg({ instances: [] }) }));
    expect(plan.counts.capacity).toBe(0);
    expect(plan.desiredCapacity).toBe(1);
    expect(plan.terminate).toEqual([]);
  });

  test('drained workers are neither capacity, candidates nor strays', () => {
    // Idle for less than drainedReclaimSeconds (900 s), so not reclaimed either (see "reclaim" below).
    const instances = [instance(i1, { launchTime: NOW - 7200 })];
    const workers = [worker('w1', i1, { drained: true, availableAt: NOW - 600 })];
    const plan = decide(input({ pool: pool(workers, 1), asg: asg({ instances }) }));
    expect(plan.counts).toMatchObject({ registered: 0, drained: 1, reclaiming: 0, capacity: 0 });
    expect(plan.desiredCapacity).toBe(2);
    expect(plan.terminate).toEqual([]);
    expect(plan.strays).toEqual([]);
  });

  test('an instance named by two undrained workers counts once and is never a scale-in candidate', () => {
    const instances = [instance(i1), instance(i2)];
    const workers = [worker('old', i1, { availableAt: NOW - 9000 }), worker('new', i1), worker('w2', i2)];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxTerminatePerTick: 5 }) }));
    expect(plan.counts).toMatchObject({ registered: 2, capacity: 2 });
    expect(plan.terminate.map((t) => t.instanceId)).toEqual([i2]);
  });
});

describe('metadata', () => {
  test('invalid workers are listed and never terminated', () => {
    const workers = [invalidWorker('bad1', 'metadata is not JSON'), invalidWorker('bad2', 'no metadata', { busy: true })];
    const { workers: good, instances } = idleFleet(1);
    const plan = decide(input({ pool: pool([...workers, ...good]), asg: asg({ instances }) }));
    expect(plan.invalidWorkers).toEqual([
      { workerId: 'bad1', reason: 'metadata is not JSON' },
      { workerId: 'bad2', reason: 'no metadata' },
    ]);
    expect(plan.counts).toMatchObject({ registered: 1, busy: 0 });
    expect(plan.terminate.map((t) => t.workerId)).toEqual(['w1']);
    expect(plan.reasons).toContain('2 workers with invalid metadata ignored (never drained or terminated)');
  });

  test('workers of another ASG are counted as foreign and ignored, not an error', () => {
    const { workers, instances } = idleFleet(1);
    const foreign = [worker('f1', instanceId(99), { asg: 'other-asg' }), worker('f2', instanceId(98), { asg: 'other-asg', busy: true })];
    const plan = decide(input({ pool: pool([...foreign, ...workers], 0), asg: asg({ instances }) }));
    expect(plan.foreignWorkers).toBe(2);
    expect(plan.counts).toMatchObject({ busy: 0, registered: 1, demand: 0 });
    expect(plan.terminate.map((t) => t.workerId)).toEqual(['w1']);
  });
});

describe('scale out', () => {
  test.each([
    { name: 'closes the whole gap by default', pending: 4, maxCreate: undefined, max: 10, desired: 4, reason: 'scale out: demand 4 exceeds capacity 0 by 4' },
    { name: 'is capped by max size', pending: 20, maxCreate: undefined, max: 5, desired: 5, reason: 'scale out: demand 20 exceeds capacity 0 by 20 (capped by max size 5)' },
    { name: 'is capped by maxCreatePerTick', pending: 5, maxCreate: 2, max: 10, desired: 2, reason: 'scale out: demand 5 exceeds capacity 0 by 5 (capped by maxCreatePerTick 2)' },
  ])('$name', ({ pending, maxCreate, max, desired, reason }) => {
    const plan = decide(input({ pool: pool([], pending), asg: asg({ maxSize: max }), config: config({ maxCreatePerTick: maxCreate }) }));
    expect(plan.desiredCapacity).toBe(desired);
    expect(plan.scaleOutBy).toBe(desired);
    expect(plan.reasons).toContain(reason);
  });

  test('busy workers and queued runs add up', () => {
    const instances = [instance(i1), instance(i2)];
    const workers = [worker('w1', i1, { busy: true }), worker('w2', i2, { busy: true })];
    const plan = decide(input({ pool: pool(workers, 1), asg: asg({ instances }) }));
    expect(plan.counts).toMatchObject({ busy: 2, pending: 1, demand: 3, capacity: 2 });
    expect(plan.desiredCapacity).toBe(3);
  });

  test('minIdle keeps warm workers', () => {
    const plan = decide(input({ pool: pool([], 0), asg: asg(), config: config({ minIdle: 2 }) }));
    expect(plan.desiredCapacity).toBe(2);
    expect(plan.counts.minIdle).toBe(2);
  });

  test('at max size nothing changes', () => {
    const plan = decide(input({ pool: pool([], 3), asg: asg({ maxSize: 2, desiredCapacity: 2 }) }));
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.reasons).toContain('no scale out: 1 short but desired 2 is at or above max size 2');
  });

  test('desired above max is never lowered', () => {
    const plan = decide(input({ pool: pool([], 9), asg: asg({ maxSize: 2, desiredCapacity: 4 }) }));
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.scaleOutBy).toBe(0);
  });

  test('desired below min (inconsistent ASG) is raised to min without demand', () => {
    const plan = decide(input({ pool: pool([], 0), asg: asg({ minSize: 2, desiredCapacity: 0 }) }));
    expect(plan.desiredCapacity).toBe(2);
    expect(plan.reasons).toContain('desired 0 is below min size 2; raising it to at least 2');
  });

  test('min above max leaves desired alone', () => {
    const plan = decide(input({ pool: pool([], 5), asg: asg({ minSize: 4, maxSize: 2, desiredCapacity: 0 }) }));
    expect(plan.desiredCapacity).toBeUndefined();
  });

  test('schedulableRunsCount is used when chosen and present', () => {
    const plan = decide(input({ pool: pool([], 5, { schedulableRunsCount: 2 }), asg: asg(), config: config({ demandSignal: 'schedulableRunsCount' }) }));
    expect(plan.desiredCapacity).toBe(2);
    expect(plan.counts.pending).toBe(2);
  });

  test('schedulableRunsCount falls back to pendingRuns when missing, and says so', () => {
    const plan = decide(input({ pool: pool([], 5), asg: asg(), config: config({ demandSignal: 'schedulableRunsCount' }) }));
    expect(plan.desiredCapacity).toBe(5);
    expect(plan.reasons).toContain('demand signal schedulableRunsCount is missing from the snapshot; using pendingRuns');
    expect(plan.reasons).toContain('demand 5 = 0 busy + 5 queued (pendingRuns) + 0 min idle');
  });

  test('a business-hours floor raises minIdle in its time zone only', () => {
    const floor = { timezone: 'Europe/Berlin', daysOfWeek: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', minIdle: 2 };
    const withFloor = config({ minIdle: 1, schedule: [floor] });
    // NOW is Monday 13:00 in Berlin.
    expect(decide(input({ pool: pool(), asg: asg(), config: withFloor })).desiredCapacity).toBe(2);
    // Monday 18:30 in Berlin: only the base minIdle.
    expect(decide(input({ pool: pool(), asg: asg(), config: withFloor, now: NOW + 5.5 * 3600 })).desiredCapacity).toBe(1);
  });
});

describe('scale in', () => {
  const excessOf = (count: number) => {
    const { workers, instances } = idleFleet(count);
    return { workers, asg: asg({ instances }) };
  };

  test('terminates the idle worker with decrement once idle past the delay', () => {
    const { workers, asg: group } = excessOf(1);
    const plan = decide(input({ pool: pool(workers), asg: group }));
    expect(plan.terminate).toEqual([
      { kind: 'scaleIn', workerId: 'w1', otherWorkerIds: [], instanceId: i1, idleSince: NOW - 3600, decrement: true },
    ]);
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.reasons).toContain(`drain and terminate worker w1 on ${i1}: idle 3600s >= 0s`);
  });

  test('the delay is measured from availableAt, not createdAt', () => {
    const plan = decide(input({
      pool: pool([worker('w1', i1, { createdAt: NOW - 9000, availableAt: NOW - 100 })]),
      asg: asg({ instances: [instance(i1)] }),
      config: config({ scaleDownDelay: ScaleDownDelay.fixed(120) }),
    }));
    expect(plan.terminate).toEqual([]);
    expect(plan.reasons).toContain('no scale in: 1 idle, none eligible (1 idle under 120s, 0 not InService, 0 with several workers)');
  });

  test.each([
    { createdAgo: 200, expected: ['w1'] },
    { createdAgo: 100, expected: [] },
  ])('without availableAt the delay falls back to createdAt ($createdAgo s ago)', ({ createdAgo, expected }) => {
    const plan = decide(input({
      pool: pool([worker('w1', i1, { createdAt: NOW - createdAgo, availableAt: undefined })]),
      asg: asg({ instances: [instance(i1)] }),
      config: config({ scaleDownDelay: ScaleDownDelay.fixed(120) }),
    }));
    expect(plan.terminate.map((t) => t.workerId)).toEqual(expected);
  });

  test('oldest idle first, ties broken by createdAt', () => {
    const instances = [1, 2, 3, 4].map((n) => instance(instanceId(n)));
    const workers = [
      worker('recent', instanceId(1), { availableAt: NOW - 500 }),
      worker('oldest', instanceId(2), { availableAt: NOW - 3000 }),
      worker('tie-younger', instanceId(3), { availableAt: NOW - 2000, createdAt: NOW - 2500 }),
      worker('tie-older', instanceId(4), { availableAt: NOW - 2000, createdAt: NOW - 2800 }),
    ];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxTerminatePerTick: 3 }) }));
    expect(plan.terminate.map((t) => t.workerId)).toEqual(['oldest', 'tie-older', 'tie-younger']);
  });

  test('at most maxTerminatePerTick (default 5)', () => {
    const { workers, asg: group } = excessOf(7);
    expect(decide(input({ pool: pool(workers), asg: group })).terminate).toHaveLength(5);
    expect(decide(input({ pool: pool(workers), asg: group, config: config({ maxTerminatePerTick: 1 }) })).terminate).toHaveLength(1);
    expect(decide(input({ pool: pool(workers), asg: group, config: config({ maxTerminatePerTick: 3 }) })).terminate).toHaveLength(3);
    expect(decide(input({ pool: pool(workers), asg: group, config: config({ maxTerminatePerTick: 0 }) })).terminate).toHaveLength(0);
  });

  test('never more than capacity minus demand', () => {
    const { workers, asg: group } = excessOf(3);
    const plan = decide(input({ pool: pool(workers), asg: group, config: config({ minIdle: 2, maxTerminatePerTick: 5 }) }));
    expect(plan.terminate).toHaveLength(1);
  });

  test('never below min size; every termination decrements', () => {
    const { workers, instances } = idleFleet(3);
    const atMin = decide(input({ pool: pool(workers), asg: asg({ instances, minSize: 3 }), config: config({ maxTerminatePerTick: 5 }) }));
    expect(atMin.terminate).toEqual([]);
    expect(atMin.reasons).toContain('no scale in: desired 3 is at min size 3');
    const aboveMin = decide(input({ pool: pool(workers), asg: asg({ instances, minSize: 1 }), config: config({ maxTerminatePerTick: 5 }) }));
    expect(aboveMin.terminate.map((t) => t.decrement)).toEqual([true, true]);
  });

  test('not while anything is in flight', () => {
    const { workers, instances } = idleFleet(2);
    const booting = [...instances, instance(i3, { lifecycleState: 'Pending', launchTime: NOW - 30 })];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances: booting }) }));
    expect(plan.terminate).toEqual([]);
    expect(plan.reasons).toContain('no scale in: 1 in flight (1 booting, 0 not yet launched, 0 strays to replace)');
    const unlaunched = decide(input({ pool: pool(workers), asg: asg({ instances, desiredCapacity: 3 }) }));
    expect(unlaunched.terminate).toEqual([]);
  });

  test('never a busy worker, nor a pending instance', () => {
    const instances = [instance(i1), instance(i3, { lifecycleState: 'Pending:Wait' })];
    const workers = [worker('busy', i1, { busy: true }), worker('pending', i3)];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxTerminatePerTick: 5 }) }));
    expect(plan.counts).toMatchObject({ capacity: 2, demand: 1 });
    expect(plan.terminate).toEqual([]);
  });

  test('scale-in protection does not exempt an idle worker: the pool protects every instance', () => {
    // Protection stops the ASG from choosing victims; our drained, targeted terminations bypass it.
    const instances = [instance(i1, { protectedFromScaleIn: true }), instance(i2, { protectedFromScaleIn: true })];
    const workers = [worker('busy', i1, { busy: true }), worker('idle', i2)];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }) }));
    expect(plan.terminate.map((t) => t.workerId)).toEqual(['idle']);
  });

  test('the break-even delay follows the arrival rate', () => {
    // One worker idle for 150 s; the break-even rule at its defaults (boot 120, min 30, max 600).
    const snapshot = {
      pool: pool([worker('w1', i1, { availableAt: NOW - 150 })]),
      asg: asg({ instances: [instance(i1)] }),
      config: config({ scaleDownDelay: ScaleDownDelay.breakEven() }),
    };
    const arrivals = (runsPerHour: number): ArrivalState => ({ at: NOW, pendingRuns: 0, workers: {}, weightedRate: runsPerHour / 3600, weight: 1 });

    const neutral = decide(input(snapshot));
    expect(neutral.scaleDownDelaySeconds).toBe(120);
    expect(neutral.terminate).toHaveLength(1);

    // 60 runs/h on one idle worker: 120 * 120 / 60 = 240 s, so keep it.
    const busyPool = decide(input({ ...snapshot, arrivals: arrivals(60) }));
    expect(busyPool.scaleDownDelaySeconds).toBe(240);
    expect(busyPool.terminate).toEqual([]);

    // 6 runs/h: 24 s, floored at 30 s.
    const quietPool = decide(input({ ...snapshot, arrivals: arrivals(6) }));
    expect(quietPool.scaleDownDelaySeconds).toBe(30);
    expect(quietPool.terminate).toHaveLength(1);

    // 12 runs/h: 48 s, above the floor; a worker idle for 40 s is kept, one idle for 50 s is not.
    const moderate = (idleFor: number) => decide(input({
      pool: pool([worker('w1', i1, { availableAt: NOW - idleFor })]),
      asg: asg({ instances: [instance(i1)] }),
      config: snapshot.config,
      arrivals: arrivals(12),
    }));
    expect(moderate(40).scaleDownDelaySeconds).toBe(48);
    expect(moderate(40).terminate).toEqual([]);
    expect(moderate(50).terminate).toHaveLength(1);
  });
});

describe('strays', () => {
  const strayAsg = (ages: number[], extra: Partial<AsgSnapshot> = {}) =>
    asg({ instances: ages.map((age, n) => instance(instanceId(n + 1), { launchTime: NOW - age })), ...extra });

  test.each([
    { age: 599, strays: [] },
    { age: 600, strays: [{ instanceId: i1, launchTime: NOW - 600 }] },
  ])('an instance without worker $age s after launch (grace 600 s)', ({ age, strays }) => {
    const plan = decide(input({ pool: pool(), asg: strayAsg([age]) }));
    expect(plan.strays).toEqual(strays);
    expect(plan.terminate).toEqual([]);
  });

  test('the grace period is configurable', () => {
    const plan = decide(input({ pool: pool(), asg: strayAsg([400]), config: config({ registrationGraceSeconds: 300 }) }));
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i1]);
    expect(plan.reasons).toContain(
      `stray ${i1} (InService) has no worker 400s after launch (grace 300s); terminate without decrement so the ASG replaces it`,
    );
  });

  test('capped per tick, oldest first, and the rest are reported', () => {
    const group = strayAsg([700, 5000, 900]);
    const one = decide(input({ pool: pool(), asg: group }));
    expect(one.strays.map((s) => s.instanceId)).toEqual([i2]);
    expect(one.counts.strays).toBe(3);
    expect(one.reasons).toContain('2 more strays left for later ticks (maxStraysPerTick 1)');
    const two = decide(input({ pool: pool(), asg: group, config: config({ maxStraysPerTick: 2 }) }));
    expect(two.strays.map((s) => s.instanceId)).toEqual([i2, i3]);
  });

  test('with stray replacement off, strays are neither capacity nor in flight', () => {
    const { workers, instances } = idleFleet(1);
    const group = asg({ instances: [...instances, instance(i2, { launchTime: NOW - 900 })] });
    const plan = decide(input({ pool: pool(workers, 1), asg: group, config: config({ maxStraysPerTick: 0 }) }));
    expect(plan.strays).toEqual([]);
    expect(plan.counts).toMatchObject({ strays: 1, replacingStrays: 0, capacity: 1, demand: 1 });
    const surplus = decide(input({ pool: pool(workers, 0), asg: group, config: config({ maxStraysPerTick: 0 }) }));
    expect(surplus.terminate.map((t) => t.workerId)).toEqual(['w1']);
  });

  test('strays are capacity being replaced: no extra launch, no scale-in meanwhile', () => {
    const { workers, instances } = idleFleet(1);
    const group = asg({ instances: [...instances, instance(i2, { launchTime: NOW - 900 })] });
    const plan = decide(input({ pool: pool(workers, 1), asg: group }));
    expect(plan.counts).toMatchObject({ capacity: 2, demand: 1, strays: 1 });
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.terminate).toEqual([]);
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i2]);
  });

  test('a drained worker still owns its instance', () => {
    const plan = decide(input({ pool: pool([worker('w1', i1, { drained: true })]), asg: strayAsg([5000]) }));
    expect(plan.strays).toEqual([]);
  });

  test('claims by foreign workers, or invalid workers older than the instance, do not protect it', () => {
    const workers = [invalidWorker('bad', 'no metadata', { createdAt: NOW - 5001 }), worker('f1', i1, { asg: 'other-asg' })];
    const plan = decide(input({ pool: pool(workers), asg: strayAsg([5000]) }));
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i1]);
  });

  // A worker cannot predate its instance, so one registered at or after the launch may run on it.
  test.each([
    { registeredAfterLaunch: -1, kept: false },
    { registeredAfterLaunch: 0, kept: true },
    { registeredAfterLaunch: 120, kept: true },
    { registeredAfterLaunch: 120, busy: true, kept: true },
    { registeredAfterLaunch: 120, drained: true, kept: true },
  ])('a worker with invalid metadata registered $registeredAfterLaunch s after the launch (busy $busy, drained $drained): kept $kept', ({ registeredAfterLaunch, kept, ...fields }) => {
    const bad = invalidWorker('bad', 'metadata is not JSON', { createdAt: NOW - 5000 + registeredAfterLaunch, ...fields });
    const plan = decide(input({ pool: pool([bad]), asg: strayAsg([5000]) }));
    expect(plan.strays.map((s) => s.instanceId)).toEqual(kept ? [] : [i1]);
    expect(plan.counts.strays).toBe(1);
    const line = `1 strays kept (${i1}): a worker with invalid metadata registered at or after their launch and may be running on them`;
    if (kept) expect(plan.reasons).toContain(line);
    else expect(plan.reasons).not.toContain(line);
  });

  test('a kept stray does not use up the cap: a younger stray launched after the invalid worker is reaped', () => {
    const bad = invalidWorker('bad', 'no metadata', { createdAt: NOW - 2000 });
    const plan = decide(input({ pool: pool([bad]), asg: strayAsg([5000, 900]) }));
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i2]);
    expect(plan.counts).toMatchObject({ strays: 2, replacingStrays: 2 });
    expect(plan.reasons).toContain(
      `1 strays kept (${i1}): a worker with invalid metadata registered at or after their launch and may be running on them`,
    );
  });

  test('a kept stray still counts as capacity, so no launch or scale-in happens around it', () => {
    const { workers, instances } = idleFleet(1);
    const group = asg({ instances: [...instances, instance(i2, { launchTime: NOW - 900 })] });
    const bad = invalidWorker('bad', 'no metadata', { createdAt: NOW - 800, busy: true });
    const plan = decide(input({ pool: pool([...workers, bad], 1), asg: group }));
    expect(plan.strays).toEqual([]);
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.terminate).toEqual([]);
  });

  test('many kept strays are listed in one abbreviated line', () => {
    const bad = invalidWorker('bad', 'no metadata', { createdAt: NOW - 100 });
    const plan = decide(input({ pool: pool([bad]), asg: strayAsg([5000, 4000, 3000, 2000, 1000, 900, 800]) }));
    expect(plan.strays).toEqual([]);
    const ids = [1, 2, 3, 4, 5].map(instanceId).join(', ');
    expect(plan.reasons).toContain(
      `7 strays kept (${ids}, 2 more): a worker with invalid metadata registered at or after their launch and may be running on them`,
    );
  });

  test.each(['Terminating:Wait', 'Standby', 'Detached'])('an instance in state %s is never a stray', (lifecycleState) => {
    const instances = [instance(i1, { lifecycleState, launchTime: NOW - 5000 })];
    const plan = decide(input({ pool: pool(), asg: asg({ desiredCapacity: 0, instances }) }));
    expect(plan.strays).toEqual([]);
  });
});

describe('reasons', () => {
  test('explain capacity, demand and each decision', () => {
    const snapshot: PoolSnapshot = pool([], 2);
    const plan = decide(input({ pool: snapshot, asg: asg() }));
    expect(plan.reasons).toEqual([
      'capacity 0 = 0 registered + 0 booting + 0 not yet launched (desired 0) + 0 strays to replace',
      'demand 2 = 0 busy + 2 queued (pendingRuns) + 0 min idle',
      'scale out: demand 2 exceeds capacity 0 by 2',
      'set desired capacity 0 -> 2',
      'scale-down delay 0s (fixed)',
      'no scale in: capacity 0 does not exceed demand 2',
    ]);
  });

  test('a bad config is rejected with the field named', () => {
    expect(() => decide(input({ pool: pool(), asg: asg(), config: config({ maxTerminatePerTick: -1 }) }))).toThrow(/maxTerminatePerTick/);
  });
});
