import { decide, readFailure, type AsgInstance, type Worker } from '../../lambda/core';
import { partialList } from '../../lambda/core/registration';
import { asg, config, input, instance, instanceId, invalidWorker, NOW, pool, worker } from './builders';

const i1 = instanceId(1);
const i2 = instanceId(2);
const i3 = instanceId(3);
/** An instance past the grace whose worker the snapshot does not list. */
const old = (id: string, fields: Partial<AsgInstance> = {}) => instance(id, { launchTime: NOW - 3600, ...fields });

describe('readFailure: a snapshot in which every instance that had a worker lost it at once', () => {
  test.each<[string, Worker[], AsgInstance[], boolean]>([
    ['empty list, instances that had workers', [], [old(i1, { registered: true }), old(i2, { registered: true })], true],
    ['empty list, one of two had a worker', [], [old(i1, { registered: true }), old(i2)], true],
    ['empty list, nobody ever registered (every boot failed)', [], [old(i1), old(i2)], false],
    ['one worker still listed', [worker('w2', i2)], [old(i1, { registered: true }), old(i2)], false],
    ['a drained worker still listed counts as listed', [worker('w2', i2, { drained: true })], [old(i1, { registered: true }), old(i2)], false],
    // A worker with invalid metadata registered after the instance launched may be on it: the list shows a worker.
    ['only invalid metadata listed, registered after the instance launched', [invalidWorker('x', 'no metadata', { busy: true })], [old(i1, { registered: true })], false],
    ['only invalid metadata listed, registered before every instance launched', [invalidWorker('x', 'no metadata', { busy: true, createdAt: NOW - 7200 })], [old(i1, { registered: true })], true],
    ['only workers of another group listed', [worker('w9', i1, { asg: 'other' })], [old(i1, { registered: true })], true],
    ['the instance that had a worker is terminating (not live)', [], [old(i1, { registered: true, lifecycleState: 'Terminating:Wait' })], false],
    ['no instances', [], [], false],
  ])('%s', (_name, workers, instances, failed) => {
    expect(readFailure(pool(workers), asg({ instances })) !== undefined).toBe(failed);
  });
});

describe('a list with fewer busy workers than Spacelift counts (busyWorkers): a partial list', () => {
  const workers = [worker('w1', i1, { busy: true }), worker('w2', i2, { availableAt: NOW - 3600 })];
  const instances = [old(i1), old(i2)];

  test.each<[string, number | undefined, boolean]>([
    ['the count matches the list', 1, false],
    ['a run started between the count and the list (the list shows more)', 0, false],
    ['no count (an older schema)', undefined, false],
    ['one busy worker missing from the list', 2, true],
  ])('%s', (_name, busyWorkers, partial) => {
    expect(partialList(pool(workers, 0, busyWorkers === undefined ? {} : { busyWorkers })) !== undefined).toBe(partial);
  });

  test('no stray is terminated: the missing busy worker may be on it', () => {
    const group = asg({ instances: [...instances, old(i3)] });
    const plan = decide(input({ pool: pool(workers, 0, { busyWorkers: 2 }), asg: group, watchingSince: NOW - 7200 }));
    expect(plan.partialList).toBe('partial list: Spacelift counts 2 busy workers but lists 1');
    expect(plan.strays).toEqual([]);
    expect(plan.readFailure).toBeUndefined();
    const whole = decide(input({ pool: pool(workers, 0, { busyWorkers: 1 }), asg: group, watchingSince: NOW - 7200 }));
    expect(whole.strays.map((s) => s.instanceId)).toEqual([i3]);
  });

  test('scale-in of a listed idle worker goes on: the drain re-checks it, and a partial list cannot hide it', () => {
    const plan = decide(input({ pool: pool(workers, 0, { busyWorkers: 2 }), asg: asg({ instances }), config: config({ minIdle: 0 }) }));
    expect(plan.terminate.map((t) => t.workerId)).toEqual(['w2']);
  });
});

describe('decide with registration memory', () => {
  test('an instance that had a worker and has none now is lost: never a stray, not capacity, counted', () => {
    const plan = decide(input({
      pool: pool([worker('w2', i2)]),
      asg: asg({ instances: [old(i1, { registered: true }), old(i2), old(i3)] }),
    }));
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i3]);
    expect(plan.counts).toMatchObject({ lost: 1, strays: 1, registered: 1, capacity: 1 + 1 });
    expect(plan.readFailure).toBeUndefined();
    expect(plan.reasons).toContain('1 instances had a worker and have none in this snapshot; kept, not capacity');
  });

  test('the issue\'s case: an empty list while the pool\'s instances are live and busy reaps nothing', () => {
    const instances = [old(i1, { registered: true }), old(i2, { registered: true }), old(i3, { registered: true })];
    const plan = decide(input({ pool: pool([], 0), asg: asg({ instances }), config: config({ maxStraysPerTick: 3 }) }));
    expect(plan.strays).toEqual([]);
    expect(plan.terminate).toEqual([]);
    expect(plan.readFailure).toMatch(/^failed read: the snapshot shows no worker on any live instance \(0 workers listed\) while 3 had one/);
  });

  test('a failed read also stops never-registered strays, reclaims and scale-in, but not scale-out', () => {
    const instances = [old(i1, { registered: true }), old(i2), old(i3)];
    const plan = decide(input({ pool: pool([], 4), asg: asg({ instances, maxSize: 10 }) }));
    expect(plan.readFailure).toBeDefined();
    expect(plan.strays).toEqual([]);
    expect(plan.terminate).toEqual([]);
    // Neither the strays (a failed read replaces none, so none is being replaced) nor the lost instance count as
    // capacity: 4 queued runs need 4 more. Counting the strays held a pool whose only registered instance lost its
    // worker at its size for good, its runs queued (found by the fault property test, invalid-metadata variant).
    expect(plan.desiredCapacity).toBe(7);
    expect(plan.reasons).toContain(plan.readFailure);
  });

  test('without the failed-read rule the same snapshot would reap: with one worker listed, the strays go', () => {
    const instances = [old(i1, { registered: true }), old(i2), old(i3), instance(instanceId(4))];
    const plan = decide(input({ pool: pool([worker('w4', instanceId(4))]), asg: asg({ instances }) }));
    expect(plan.readFailure).toBeUndefined();
    expect(plan.strays.map((s) => s.instanceId)).toEqual([i2]);
  });
});

describe('workers with invalid metadata (a launcher that writes none): no runaway, no endless failed read', () => {
  /** An instance launched `age` seconds ago, tagged, whose worker registered 90 s after launch with invalid metadata. */
  const served = (n: number, age: number, fields: Partial<Worker> = {}) => ({
    instance: instance(instanceId(n), { launchTime: NOW - age, registered: true }),
    worker: invalidWorker(`x${n}`, 'no metadata', { createdAt: NOW - age + 90, ...fields }),
  });

  test('every worker invalid: each instance counts as capacity, the read is trusted, nothing is launched or removed', () => {
    const fleet = [served(1, 7200, { busy: true }), served(2, 3600), served(3, 120)];
    const plan = decide(input({
      pool: pool(fleet.map((f) => f.worker)),
      asg: asg({ instances: fleet.map((f) => f.instance) }),
      config: config({ minIdle: 1 }),
    }));
    expect(plan.readFailure).toBeUndefined();
    // Two past the grace, served by workers with invalid metadata; the third, within it, counts as booting.
    expect(plan.counts).toMatchObject({ lost: 0, unidentified: 2, launching: 1, strays: 0, capacity: 3, demand: 1 });
    expect(plan.desiredCapacity).toBeUndefined();
    expect(plan.strays).toEqual([]);
    expect(plan.lostReclaims).toEqual([]);
    expect(plan.terminate).toEqual([]);
    expect(plan.reasons).toContain(
      '2 instances had a worker and may now run one with invalid metadata; kept, 2 counted as capacity (one per undrained worker with invalid metadata)',
    );
  });

  test('one worker with invalid metadata makes at most one old instance capacity', () => {
    const instances = [old(i1, { registered: true }), old(i2, { registered: true }), old(i3, { registered: true })];
    const plan = decide(input({ pool: pool([invalidWorker('x', 'no metadata', { createdAt: NOW - 60 })], 2), asg: asg({ instances }) }));
    expect(plan.counts).toMatchObject({ unidentified: 3, lost: 0, capacity: 1, demand: 2 });
    expect(plan.desiredCapacity).toBe(4);
  });

  test('a drained worker with invalid metadata still keeps its instance, but is no capacity', () => {
    const { instance: on, worker: drained } = served(1, 3600, { drained: true });
    const plan = decide(input({ pool: pool([drained]), asg: asg({ instances: [on] }), config: config({ maxStraysPerTick: 3 }) }));
    expect(plan.counts).toMatchObject({ unidentified: 1, capacity: 0, lost: 0 });
    expect(plan.strays).toEqual([]);
  });

  test('a list that omits them all: the instances are lost again (not capacity), the read failed, nothing is removed', () => {
    const fleet = [served(1, 7200, { busy: true }), served(2, 3600)];
    const plan = decide(input({
      pool: pool([], 0),
      asg: asg({ instances: fleet.map((f) => f.instance) }),
      config: config({ minIdle: 1, maxStraysPerTick: 3 }),
      lostSince: new Map(fleet.map((f) => [f.instance.id, NOW - 86_400])),
    }));
    expect(plan.readFailure).toBeDefined();
    expect(plan.counts).toMatchObject({ lost: 2, unidentified: 0, capacity: 0 });
    expect([...plan.terminate, ...plan.strays, ...plan.lostReclaims]).toEqual([]);
  });

  test('a list that omits one of them: that instance is lost (not capacity), the others keep the read trusted', () => {
    const fleet = [served(1, 7200), served(2, 3600, { busy: true })];
    const plan = decide(input({
      pool: pool([fleet[0].worker]),
      asg: asg({ instances: fleet.map((f) => f.instance) }),
      config: config({ minIdle: 1 }),
    }));
    expect(plan.readFailure).toBeUndefined();
    expect(plan.counts).toMatchObject({ lost: 1, unidentified: 1, capacity: 1 });
    expect([...plan.terminate, ...plan.strays, ...plan.lostReclaims]).toEqual([]);
  });
});

describe('a process that has not watched for a whole grace reaps no stray', () => {
  test.each([
    [undefined, [i1]],
    [NOW - 600, [i1]],
    [NOW - 599, []],
    [NOW, []],
  ])('watching since %s: strays %j', (watchingSince, expected) => {
    const plan = decide({ ...input({ pool: pool(), asg: asg({ instances: [old(i1)] }) }), watchingSince });
    expect(plan.strays.map((s) => s.instanceId)).toEqual(expected);
    expect(plan.counts.strays).toBe(1);
  });

  test('says why', () => {
    const plan = decide({ ...input({ pool: pool(), asg: asg({ instances: [old(i1)] }) }), watchingSince: NOW - 60 });
    expect(plan.reasons).toContain('1 strays wait: this process has read snapshots for 60s, less than the grace');
  });
});

describe('reapStrays off (powerOffOnError false)', () => {
  test('strays are kept and reported, and are not capacity', () => {
    const plan = decide(input({
      pool: pool([], 1),
      asg: asg({ instances: [old(i1)] }),
      config: config({ reapStrays: false }),
    }));
    expect(plan.strays).toEqual([]);
    expect(plan.counts).toMatchObject({ strays: 1, replacingStrays: 0, capacity: 0 });
    expect(plan.desiredCapacity).toBe(2);
    expect(plan.reasons).toContain('1 strays kept: reapStrays is off (powerOffOnError false keeps failed instances)');
  });

  test('reclaims of instances left drained still happen', () => {
    const drained = worker('w1', i1, { drained: true, availableAt: NOW - 3600 });
    const plan = decide(input({ pool: pool([drained]), asg: asg({ instances: [old(i1)] }), config: config({ reapStrays: false }) }));
    expect(plan.terminate.map((t) => t.kind)).toEqual(['reclaim']);
  });

  test('validateScalingConfig names a non-boolean', () => {
    expect(() => decide(input({ pool: pool(), asg: asg(), config: config({ reapStrays: 'no' as unknown as boolean }) })))
      .toThrow('scaling config: reapStrays must be a boolean, got "no"');
  });
});
