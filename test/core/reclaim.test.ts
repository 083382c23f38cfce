/** Reclaiming instances left with only drained workers (lambda/core/reclaim.ts), through `decide`. */
import { decide, type Plan } from '../../lambda/core';
import { asg, config, idleFleet, input, instance, instanceId, invalidWorker, NOW, pool, worker } from './builders';

const i1 = instanceId(1);
const i2 = instanceId(2);
const i3 = instanceId(3);

const reclaims = (plan: Plan) => plan.terminate.filter((t) => t.kind === 'reclaim');
const drained = (id: string, onInstance: string, idleFor: number, fields: Parameters<typeof worker>[2] = {}) =>
  worker(id, onInstance, { drained: true, availableAt: NOW - idleFor, ...fields });

describe('which drained instances are reclaimed', () => {
  test('an InService instance whose only worker is drained and idle for drainedReclaimSeconds: terminated with decrement', () => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 1000)]), asg: asg({ instances: [instance(i1)] }) }));
    expect(plan.terminate).toEqual([
      { kind: 'reclaim', workerId: 'w1', otherWorkerIds: [], instanceId: i1, idleSince: NOW - 1000, decrement: true },
    ]);
    expect(plan.counts).toMatchObject({ drained: 1, reclaiming: 1, capacity: 0 });
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.reasons).toEqual(expect.arrayContaining([
      '1 live instances have only drained workers (not capacity): 1 drained and idle for >= 900s, 0 idle under 900s, ' +
        '0 finishing a run, 0 not InService',
      `reclaim ${i1}: worker w1 drained and idle 1000s >= 900s; terminate with decrement`,
    ]));
  });

  test.each([
    [900, 1],
    [899, 0],
  ])('the grace is inclusive: idle %i s with the default 900 s gives %i reclaims', (idleFor, expected) => {
    const plan = decide(input({ pool: pool([drained('w1', i1, idleFor)]), asg: asg({ instances: [instance(i1)] }) }));
    expect(reclaims(plan)).toHaveLength(expected);
  });

  test('without availableAt the idle time falls back to createdAt', () => {
    const workers = [drained('w1', i1, 0, { availableAt: undefined, createdAt: NOW - 2000 })];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances: [instance(i1)] }) }));
    expect(reclaims(plan).map((t) => t.idleSince)).toEqual([NOW - 2000]);
  });

  test('drainedReclaimSeconds is configurable, and 0 turns reclaiming off', () => {
    const snapshot = { pool: pool([drained('w1', i1, 100)]), asg: asg({ instances: [instance(i1)] }) };
    expect(reclaims(decide(input({ ...snapshot, config: config({ drainedReclaimSeconds: 60 }) })))).toHaveLength(1);
    const off = decide(input({ ...snapshot, config: config({ drainedReclaimSeconds: 0 }) }));
    expect(off.terminate).toEqual([]);
    expect(off.reasons).toContain('1 live instances have only drained workers (not capacity); left alone: drainedReclaimSeconds is 0');
  });

  test('never a drained worker that is busy (finishing a run), whatever its idle-since', () => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 5000, { busy: true })]), asg: asg({ instances: [instance(i1)] }) }));
    expect(plan.terminate).toEqual([]);
    expect(plan.reasons).toContain(
      '1 live instances have only drained workers (not capacity): 0 drained and idle for >= 900s, 0 idle under 900s, 1 finishing a run, 0 not InService',
    );
  });

  test.each(['Pending', 'Pending:Wait', 'Pending:Proceed'])('never an instance in state %s', (lifecycleState) => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 5000)]), asg: asg({ instances: [instance(i1, { lifecycleState })] }) }));
    expect(plan.terminate).toEqual([]);
    expect(plan.counts.drained).toBe(1);
  });

  test.each(['Terminating:Wait', 'Standby', 'Detached'])('an instance in state %s is not live: neither drained nor reclaimed (its drain is wanted)', (lifecycleState) => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 5000)]), asg: asg({ desiredCapacity: 0, instances: [instance(i1, { lifecycleState })] }) }));
    expect(plan.terminate).toEqual([]);
    expect(plan.counts.drained).toBe(0);
  });

  test('several workers on one instance: reclaimed only if every one is drained and idle past the grace; all are named', () => {
    const instances = [instance(i1), instance(i2), instance(i3)];
    const workers = [
      drained('old1', i1, 4000, { createdAt: NOW - 9000 }),
      drained('new1', i1, 1000, { createdAt: NOW - 5000 }),
      drained('old2', i2, 4000),
      drained('new2', i2, 100),
      drained('old3', i3, 4000),
      worker('serving3', i3),
    ];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxStraysPerTick: 5 }) }));
    expect(reclaims(plan)).toEqual([
      { kind: 'reclaim', workerId: 'new1', otherWorkerIds: ['old1'], instanceId: i1, idleSince: NOW - 1000, decrement: true },
    ]);
    // i3 has an undrained worker: registered capacity, and not a scale-in candidate either (two workers).
    expect(plan.counts).toMatchObject({ drained: 2, registered: 1 });
    expect(plan.reasons).toContain(`reclaim ${i1}: worker new1, old1 drained and idle 1000s >= 900s; terminate with decrement`);
  });

  test('workers of other ASGs and workers with invalid metadata neither block nor cause a reclaim', () => {
    const workers = [
      drained('w1', i1, 2000),
      worker('foreign', i1, { asg: 'other-asg', busy: true }),
      invalidWorker('bad', 'no metadata', { busy: true, createdAt: NOW - 10 }),
      drained('foreign-drained', i2, 5000, { asg: 'other-asg' }),
    ];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances: [instance(i1), instance(i2, { launchTime: NOW - 100 })] }) }));
    expect(reclaims(plan).map((t) => t.instanceId)).toEqual([i1]);
  });

  test('oldest idle first', () => {
    const instances = [instance(i1), instance(i2), instance(i3)];
    const workers = [drained('w1', i1, 1000), drained('w2', i2, 3000), drained('w3', i3, 2000)];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxStraysPerTick: 2 }) }));
    expect(reclaims(plan).map((t) => t.workerId)).toEqual(['w2', 'w3']);
    expect(plan.reasons).toContain('1 more drained or retained instances left for later ticks (maxStraysPerTick 2 repairs per tick, 0 used by strays)');
  });
});

describe('the repairs cap (maxStraysPerTick) is shared with strays, strays first', () => {
  const instances = [
    instance(i1),
    instance(i2),
    instance(instanceId(4), { launchTime: NOW - 5000 }),
    instance(instanceId(5), { launchTime: NOW - 4000 }),
  ];
  const workers = [drained('w1', i1, 3000), drained('w2', i2, 2000)];

  test.each([
    [1, 1, 0],
    [3, 2, 1],
    [4, 2, 2],
    [0, 0, 0],
  ])('maxStraysPerTick %i: %i strays and %i reclaims', (cap, strayCount, reclaimCount) => {
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxStraysPerTick: cap }) }));
    expect(plan.strays).toHaveLength(strayCount);
    expect(reclaims(plan)).toHaveLength(reclaimCount);
  });

  test('maxStraysPerTick 0 turns repairs off, and says so', () => {
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxStraysPerTick: 0 }) }));
    expect(plan.reasons).toContain('2 live instances have only drained workers (not capacity); left alone: maxStraysPerTick is 0 (no repairs)');
  });

  test('the reason says what the strays used', () => {
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances }), config: config({ maxStraysPerTick: 3 }) }));
    expect(plan.reasons).toContain('1 more drained or retained instances left for later ticks (maxStraysPerTick 3 repairs per tick, 2 used by strays)');
  });
});

describe('decrement', () => {
  test('at min size: without decrement, so the group replaces the instance', () => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 1000)]), asg: asg({ instances: [instance(i1)], minSize: 1 }) }));
    expect(reclaims(plan)).toEqual([expect.objectContaining({ instanceId: i1, decrement: false })]);
    expect(plan.reasons).toContain(
      `reclaim ${i1}: worker w1 drained and idle 1000s >= 900s; terminate without decrement (desired 1 would go below min size 1), the ASG replaces it`,
    );
  });

  test('decrements until desired reaches min size, then replaces', () => {
    const instances = [instance(i1), instance(i2), instance(i3)];
    const workers = [drained('w1', i1, 3000), drained('w2', i2, 2000), worker('w3', i3, { busy: true })];
    const plan = decide(input({ pool: pool(workers), asg: asg({ instances, minSize: 2 }), config: config({ maxStraysPerTick: 2 }) }));
    expect(reclaims(plan).map((t) => [t.workerId, t.decrement])).toEqual([['w1', true], ['w2', false]]);
  });

  test('counts the room after this plan\'s scale-out: a queue and a drained instance at min size', () => {
    // desired 1 = min 1, the only instance is drained, one run queued: raise desired to 2 and reclaim with decrement,
    // so the group ends with the one new instance the queue needs, not two.
    const plan = decide(input({ pool: pool([drained('w1', i1, 1000)], 1), asg: asg({ instances: [instance(i1)], minSize: 1 }) }));
    expect(plan.desiredCapacity).toBe(2);
    expect(reclaims(plan)).toEqual([expect.objectContaining({ decrement: true })]);
  });

  test('reclaims use the room above min size before scale-in does', () => {
    const { workers, instances } = idleFleet(2);
    const group = asg({ instances: [...instances, instance(i3)], minSize: 2 });
    const plan = decide(input({ pool: pool([...workers, drained('d3', i3, 1000)]), asg: group }));
    expect(plan.terminate).toEqual([expect.objectContaining({ kind: 'reclaim', workerId: 'd3', decrement: true })]);
    expect(plan.reasons).toContain('no scale in: desired 3 after 1 reclaim decrements is at min size 2');
  });
});

describe('independent of demand and of launches in flight', () => {
  test('reclaimed while capacity is short of demand (a drained instance is not capacity)', () => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 1000), worker('w2', i2, { busy: true })], 3), asg: asg({ instances: [instance(i1), instance(i2)] }) }));
    expect(plan.counts).toMatchObject({ capacity: 1, demand: 4 });
    expect(plan.desiredCapacity).toBe(5);
    expect(reclaims(plan).map((t) => t.instanceId)).toEqual([i1]);
  });

  test('reclaimed while an instance boots', () => {
    const instances = [instance(i1), instance(i2, { lifecycleState: 'Pending', launchTime: NOW - 30 })];
    const plan = decide(input({ pool: pool([drained('w1', i1, 1000)], 1), asg: asg({ instances }) }));
    expect(plan.counts.launching).toBe(1);
    expect(reclaims(plan).map((t) => t.instanceId)).toEqual([i1]);
  });

  test('reclaims come first in the plan, then scale-in', () => {
    const { workers, instances } = idleFleet(2);
    const plan = decide(input({ pool: pool([...workers, drained('d3', i3, 1000)]), asg: asg({ instances: [...instances, instance(i3)] }) }));
    expect(plan.terminate.map((t) => [t.kind, t.workerId])).toEqual([['reclaim', 'd3'], ['scaleIn', 'w1'], ['scaleIn', 'w2']]);
    expect(plan.terminate.every((t) => t.decrement)).toBe(true);
  });
});

describe('release of retained instances (Terminating:Retained)', () => {
  const RETAINED = 'Terminating:Retained';
  const releases = (plan: Plan) => plan.terminate.filter((t) => t.kind === 'releaseRetained');
  const retainedGroup = (...ids: string[]) => asg({ desiredCapacity: 0, instances: ids.map((id) => instance(id, { lifecycleState: RETAINED })) });
  const summary = (held: string) => `1 instances retained by Auto Scaling (billed, not capacity): ${held}`;

  test('every worker drained and idle, however briefly: released without decrement (not in desired capacity)', () => {
    const plan = decide(input({ pool: pool([drained('w1', i1, 5)]), asg: retainedGroup(i1) }));
    expect(plan.terminate).toEqual([
      { kind: 'releaseRetained', workerId: 'w1', otherWorkerIds: [], instanceId: i1, idleSince: NOW - 5, decrement: false },
    ]);
    expect(plan.counts).toMatchObject({ retained: 1, releasing: 1, reclaiming: 0, drained: 0, capacity: 0 });
    expect(plan.reasons).toEqual(expect.arrayContaining([
      summary('0 with a worker to drain, 1 drained and idle, 0 finishing a run, 0 named by no worker (left for a human: the list ' +
        'cannot show them idle), 0 that a worker we cannot check may run on (kept)'),
      `release retained ${i1}: worker w1 drained and idle: re-check, then terminate without decrement`,
    ]));
  });

  test.each([
    ['idle', {}],
    ['busy', { busy: true }],
  ])('an undrained worker (the drain never reached it), %s: planned at once, so the executor drains it', (_name, fields) => {
    const plan = decide(input({ pool: pool([worker('w1', i1, fields)]), asg: retainedGroup(i1) }));
    expect(releases(plan)).toEqual([expect.objectContaining({ workerId: 'w1', decrement: false })]);
    expect(plan.reasons).toContain(
      `release retained ${i1}: worker w1 not all drained: drain them now (busy or not); terminate without decrement on a later tick once drained and idle`,
    );
    // Not live, so its worker is not capacity either.
    expect(plan.counts).toMatchObject({ registered: 0, capacity: 0 });
  });

  test.each([
    ['a drained worker is busy', [drained('w1', i1, 5000, { busy: true })], undefined,
      '0 with a worker to drain, 0 drained and idle, 1 finishing a run, 0 named by no worker'],
    ['one of two drained workers is busy', [drained('w1', i1, 5000), drained('w2', i1, 10, { busy: true })], undefined,
      '0 with a worker to drain, 0 drained and idle, 1 finishing a run, 0 named by no worker'],
    // An empty or partial list is not the truth: nothing shows the instance idle.
    ['no worker of this ASG names it', [], undefined, '0 with a worker to drain, 0 drained and idle, 0 finishing a run, 1 named by no worker'],
    ['a worker names it under another group', [drained('w1', i1, 5000), worker('w9', i1, { asg: 'other-asg', busy: true })], undefined,
      '0 with a worker to drain, 0 drained and idle, 0 finishing a run, 0 named by no worker (left for a human: the list cannot show them ' +
        'idle), 1 that a worker we cannot check may run on'],
    ['a worker with invalid metadata may run on it (launch time unknown)', [drained('w1', i1, 5000), invalidWorker('bad')], undefined,
      '0 with a worker to drain, 0 drained and idle, 0 finishing a run, 0 named by no worker (left for a human: the list cannot show them ' +
        'idle), 1 that a worker we cannot check may run on'],
    ['a worker with invalid metadata registered after its launch', [drained('w1', i1, 5000), invalidWorker('bad', 'no metadata', { createdAt: NOW - 100 })],
      NOW - 1000, '0 with a worker to drain, 0 drained and idle, 0 finishing a run, 0 named by no worker (left for a human: the list ' +
        'cannot show them idle), 1 that a worker we cannot check may run on'],
  ])('kept when %s', (_name, workers, launchTime, held) => {
    const group = asg({ desiredCapacity: 0, instances: [instance(i1, { lifecycleState: RETAINED, launchTime })] });
    const plan = decide(input({ pool: pool(workers), asg: group }));
    expect(plan.terminate).toEqual([]);
    expect(plan.reasons.find((reason) => reason.startsWith('1 instances retained'))).toContain(held);
  });

  test('a worker with invalid metadata registered before its known launch does not keep it', () => {
    const group = asg({ desiredCapacity: 0, instances: [instance(i1, { lifecycleState: RETAINED, launchTime: NOW - 1000 })] });
    const plan = decide(input({ pool: pool([drained('w1', i1, 5000), invalidWorker('bad', 'no metadata', { createdAt: NOW - 2000 })]), asg: group }));
    expect(releases(plan)).toHaveLength(1);
  });

  test('kept on a failed read (no worker on any instance that had one)', () => {
    const instances = [instance(i1, { lifecycleState: RETAINED }), instance(i2, { registered: true })];
    const plan = decide(input({ pool: pool([]), asg: asg({ desiredCapacity: 1, instances }) }));
    expect(plan.readFailure).toBeDefined();
    expect(plan.terminate).toEqual([]);
  });

  test('off only with maxStraysPerTick 0 (no repairs), and says so; drainedReclaimSeconds 0 does not stop it', () => {
    const off = decide(input({ pool: pool([drained('w1', i1, 5000)]), asg: retainedGroup(i1), config: config({ maxStraysPerTick: 0 }) }));
    expect(off.terminate).toEqual([]);
    expect(off.reasons).toContain('1 instances retained by Auto Scaling; left alone: maxStraysPerTick is 0 (no repairs)');
    const noGrace = decide(input({ pool: pool([drained('w1', i1, 5000)]), asg: retainedGroup(i1), config: config({ drainedReclaimSeconds: 0 }) }));
    expect(releases(noGrace)).toHaveLength(1);
  });

  test('one the executor holds (asked for or drained moments ago) is not planned, so its repair slot goes to another', () => {
    const instances = [instance(i1, { lifecycleState: RETAINED }), instance(i2)];
    const workers = [drained('r1', i1, 3000), drained('d2', i2, 2000)];
    const plan = decide(input({
      pool: pool(workers), asg: asg({ instances, desiredCapacity: 1 }), config: config({ maxStraysPerTick: 1 }), releasesOnHold: new Set([i1]),
    }));
    expect(plan.terminate.map((t) => [t.kind, t.workerId])).toEqual([['reclaim', 'd2']]);
    expect(plan.reasons.find((reason) => reason.startsWith('1 instances retained'))).toContain('1 asked for or drained moments ago (waiting)');
  });

  test('shares the repairs cap with drained instances, oldest idle first, and never uses the room above min size', () => {
    const instances = [instance(i1, { lifecycleState: RETAINED }), instance(i2), instance(i3)];
    const workers = [drained('r1', i1, 3000), drained('d2', i2, 2000), drained('d3', i3, 1000)];
    const group = asg({ instances, desiredCapacity: 2, minSize: 1 });
    const plan = decide(input({ pool: pool(workers), asg: group, config: config({ maxStraysPerTick: 2 }) }));
    expect(plan.terminate.map((t) => [t.kind, t.workerId, t.decrement])).toEqual([['releaseRetained', 'r1', false], ['reclaim', 'd2', true]]);
    expect(plan.reasons).toContain('1 more drained or retained instances left for later ticks (maxStraysPerTick 2 repairs per tick, 0 used by strays)');
  });
});
