import { decide, trackLost, type AsgInstance, type ScalingConfig, type Worker } from '../../lambda/core';
import { asg, config, input, instance, instanceId, invalidWorker, NOW, pool, worker } from './builders';

const i1 = instanceId(1);
const i2 = instanceId(2);
const i3 = instanceId(3);
/** An InService instance that had a worker (tagged) and has none in the snapshot. */
const lostInstance = (id: string, fields: Partial<AsgInstance> = {}) => instance(id, { registered: true, ...fields });
/** A worker of this group on instance 9, so that the read is trusted (not every worker gone at once). */
const listed = () => [worker('w9', instanceId(9))];
const listedInstance = () => instance(instanceId(9));
const T = 4800;

describe('trackLost: since when each instance has been lost on every trusted read', () => {
  test('first seen lost: now; still lost: carried on; worker back or instance gone: dropped', () => {
    const previous = new Map([[i1, NOW - 100], [i2, NOW - 200]]);
    const next = trackLost(previous, [lostInstance(i1), lostInstance(i3)], [instance(i1), instance(i2), instance(i3)], false, NOW);
    expect([...next]).toEqual([[i1, NOW - 100], [i3, NOW]]);
  });

  test('a failed read neither starts nor resets a clock; it only forgets instances that left the group', () => {
    const previous = new Map([[i1, NOW - 100], [i2, NOW - 200]]);
    const next = trackLost(previous, [lostInstance(i1), lostInstance(i3)], [instance(i1), instance(i3)], true, NOW);
    expect([...next]).toEqual([[i1, NOW - 100]]);
  });

  test('a cold start remembers nothing', () => {
    expect([...trackLost(undefined, [lostInstance(i1)], [instance(i1)], true, NOW)]).toEqual([]);
    expect([...trackLost(undefined, [lostInstance(i1)], [instance(i1)], false, NOW)]).toEqual([[i1, NOW]]);
  });
});

describe('a young instance that had a worker is booting, not lost', () => {
  // Its tag may be an inference (a worker with invalid metadata that may have run on it, registration.ts), and a
  // list omitting the worker of an instance this young says no more than that it is still booting: capacity.
  test.each<[string, number, 'booting' | 'lost']>([
    ['within the registration grace', 599, 'booting'],
    ['past it', 600, 'lost'],
  ])('%s', (_name, age, expected) => {
    const result = decide(input({
      pool: pool(listed(), 2),
      asg: asg({ instances: [listedInstance(), lostInstance(i1, { launchTime: NOW - age })] }),
      config: config({ registrationGraceSeconds: 600 }),
    }));
    expect(result.counts.lost).toBe(expected === 'lost' ? 1 : 0);
    // Two runs queued, one idle worker: a booting instance is capacity for the other, a lost one is not.
    expect(result.scaleOutBy).toBe(expected === 'lost' ? 1 : 0);
  });
});

describe('decide: reclaim of instances lost for lostReclaimSeconds', () => {
  const plan = (
    lost: AsgInstance[],
    lostSince: ReadonlyMap<string, number> | undefined,
    fields: { config?: Partial<ScalingConfig>; workers?: Worker[]; extra?: AsgInstance[]; minSize?: number } = {},
  ) =>
    decide(input({
      pool: pool([...listed(), ...(fields.workers ?? [])]),
      asg: asg({ instances: [listedInstance(), ...(fields.extra ?? []), ...lost], minSize: fields.minSize ?? 0 }),
      config: config(fields.config),
      lostSince,
    }));

  test.each<[string, ReadonlyMap<string, number> | undefined, Partial<ScalingConfig>, string[]]>([
    ['lost for exactly lostReclaimSeconds', new Map([[i1, NOW - T]]), {}, [i1]],
    ['lost for a second less', new Map([[i1, NOW - T + 1]]), {}, []],
    ['nothing remembered (a cold start): the clock starts now', undefined, {}, []],
    ['reapStrays off (powerOffOnError false keeps failed instances)', new Map([[i1, NOW - 86_400]]), { reapStrays: false }, []],
    ['lostReclaimSeconds 0', new Map([[i1, NOW - 86_400]]), { lostReclaimSeconds: 0 }, []],
    ['maxStraysPerTick 0 (no repairs)', new Map([[i1, NOW - 86_400]]), { maxStraysPerTick: 0 }, []],
    ['a shorter setting', new Map([[i1, NOW - 600]]), { lostReclaimSeconds: 600 }, [i1]],
  ])('%s', (_name, lostSince, fields, expected) => {
    const result = plan([lostInstance(i1)], lostSince, { config: fields });
    expect(result.lostReclaims.map((l) => l.instanceId)).toEqual(expected);
    expect(result.counts.lost).toBe(1);
  });

  test('the plan carries the clock on for the next tick', () => {
    const result = plan([lostInstance(i1), lostInstance(i2)], new Map([[i1, NOW - 60], [i3, NOW - 60]]));
    expect([...result.lostSince]).toEqual([[i1, NOW - 60], [i2, NOW]]);
  });

  test('oldest first, sharing maxStraysPerTick with strays and drained reclaims (strays, then drained, then lost)', () => {
    const stray = instance(i3, { launchTime: NOW - 3600 });
    const drainedInstance = instance(instanceId(4));
    const drained = worker('w4', instanceId(4), { drained: true, availableAt: NOW - 3600 });
    const lostSince = new Map([[i1, NOW - T - 10], [i2, NOW - T - 20]]);
    const lost = [lostInstance(i1), lostInstance(i2)];
    const withAll = plan(lost, lostSince, { config: { maxStraysPerTick: 3 }, workers: [drained], extra: [stray, drainedInstance] });
    expect(withAll.strays.map((s) => s.instanceId)).toEqual([i3]);
    expect(withAll.terminate.map((t) => t.instanceId)).toEqual([instanceId(4)]);
    expect(withAll.lostReclaims.map((l) => l.instanceId)).toEqual([i2]);
    expect(withAll.reasons).toContain(
      '1 more lost instances left for later ticks (maxStraysPerTick 3 repairs per tick, 2 used by strays and drained reclaims)',
    );
    expect(plan(lost, lostSince, { config: { maxStraysPerTick: 2 } }).lostReclaims.map((l) => l.instanceId)).toEqual([i2, i1]);
  });

  test('with decrement while desired stays at or above min size, then without (the group replaces it)', () => {
    const lostSince = new Map([[i1, NOW - T], [i2, NOW - T - 1]]);
    // Desired 3 (instance 9 and the two lost ones), min size 2: one decrement fits.
    const result = plan([lostInstance(i1), lostInstance(i2)], lostSince, { config: { maxStraysPerTick: 2 }, minSize: 2 });
    expect(result.lostReclaims.map(({ instanceId: id, decrement }) => [id, decrement])).toEqual([[i2, true], [i1, false]]);
    expect(result.reasons).toContain(
      `reclaim lost ${i2}: no worker on any trusted read for ${T + 1}s; terminate with decrement through the lifecycle hook (its drain still runs)`,
    );
  });

  test('never on a failed read: the clock is kept, nothing is reclaimed', () => {
    const lostSince = new Map([[i1, NOW - 86_400]]);
    const result = decide(input({ pool: pool([]), asg: asg({ instances: [lostInstance(i1)] }), lostSince }));
    expect(result.readFailure).toBeDefined();
    expect(result.lostReclaims).toEqual([]);
    expect([...result.lostSince]).toEqual([[i1, NOW - 86_400]]);
  });

  test.each<[string, Partial<AsgInstance>]>([
    ['not InService (leaving, or still pending)', { lifecycleState: 'Pending:Wait' }],
    ['of unknown launch time (the re-check could not rule out a worker with invalid metadata)', { launchTime: undefined }],
  ])('left alone when %s', (_name, fields) => {
    const result = plan([lostInstance(i1, fields)], new Map([[i1, NOW - 86_400]]));
    expect(result.counts.lost).toBe(1);
    expect(result.lostReclaims).toEqual([]);
  });

  test('says why it keeps them with reapStrays off', () => {
    const result = plan([lostInstance(i1)], new Map([[i1, NOW - 86_400]]), { config: { reapStrays: false } });
    expect(result.reasons).toContain('1 lost instances (had a worker, none listed now) kept: reapStrays is off (powerOffOnError false keeps failed instances)');
  });

  test('a worker with invalid metadata that may run on it makes it unidentified: never lost, never reclaimed', () => {
    const result = plan([lostInstance(i1, { launchTime: NOW - 7200 })], new Map([[i1, NOW - 86_400]]), {
      workers: [invalidWorker('x', 'no metadata', { createdAt: NOW - 7000 })],
    });
    expect(result.counts).toMatchObject({ lost: 0, unidentified: 1 });
    expect(result.lostReclaims).toEqual([]);
    expect([...result.lostSince]).toEqual([]);
  });

  test('a worker listed again starts the clock over', () => {
    const result = decide(input({
      pool: pool([...listed(), worker('w1', i1)]),
      asg: asg({ instances: [listedInstance(), instance(i1)] }),
      lostSince: new Map([[i1, NOW - 86_400]]),
    }));
    expect(result.lostReclaims).toEqual([]);
    expect([...result.lostSince]).toEqual([]);
  });
});

describe('planBlindReclaim: one lost instance per lostReclaimSeconds when reads have failed that long, for liveness', () => {
  // A pool at max size (2) whose only registered instances lost their workers: every read is a failed read.
  const blindAsg = (fields: Partial<AsgInstance> = {}) => asg({
    maxSize: 2,
    desiredCapacity: 2,
    instances: [lostInstance(i1, { launchTime: NOW - 9000, ...fields }), lostInstance(i2, { launchTime: NOW - 8000, ...fields })],
  });
  const tick = (now: number, blindReclaim: Parameters<typeof decide>[0]['blindReclaim'], queued = 1, asgFields: Partial<AsgInstance> = {}) =>
    decide(input({ pool: pool([], queued), asg: blindAsg(asgFields), now, blindReclaim }));

  test('the first failed read starts the clock; nothing is removed before lostReclaimSeconds', () => {
    const first = tick(NOW, undefined);
    expect(first.readFailure).toBeDefined();
    expect(first.lostReclaims).toEqual([]);
    expect(first.blindReclaim).toEqual({ failingSince: NOW });
    expect(tick(NOW + T - 1, first.blindReclaim).lostReclaims).toEqual([]);
  });

  test('after lostReclaimSeconds of failed reads, with runs queued at max size: the oldest lost instance, through the hook', () => {
    const plan = tick(NOW + T, { failingSince: NOW });
    expect(plan.lostReclaims).toEqual([{ instanceId: i1, launchTime: NOW - 9000, lostSince: NOW, decrement: true }]);
    expect(plan.blindReclaim).toEqual({ failingSince: NOW, lastReclaimAt: NOW + T });
    expect(plan.terminate).toEqual([]);
    expect(plan.strays).toEqual([]);
    expect(plan.reasons).toContain(`reads have failed for ${T}s with 1 runs queued at max size: reclaim lost ${i1} through the lifecycle hook, `
      + `and no other on a failed read for ${T}s`);
  });

  test.each<[string, () => ReturnType<typeof decide>]>([
    ['no run is queued', () => tick(NOW + T, { failingSince: NOW }, 0)],
    ['another was reclaimed on a failed read less than lostReclaimSeconds ago', () => tick(NOW + 2 * T - 1, { failingSince: NOW, lastReclaimAt: NOW + T })],
    ['the lost instances are not InService', () => tick(NOW + T, { failingSince: NOW }, 1, { lifecycleState: 'Pending:Wait' })],
  ])('none when %s', (_name, plan) => {
    expect(plan().lostReclaims).toEqual([]);
  });

  test('none below max size: a scale-out there gives the queued run its worker instead', () => {
    const plan = decide(input({ pool: pool([], 1), asg: { ...blindAsg(), maxSize: 5 }, now: NOW + T, blindReclaim: { failingSince: NOW } }));
    expect(plan.scaleOutBy).toBeGreaterThan(0);
    expect(plan.lostReclaims).toEqual([]);
  });

  test.each<[string, Partial<ScalingConfig>]>([
    ['reapStrays is off', { reapStrays: false }],
    ['lostReclaimSeconds is 0', { lostReclaimSeconds: 0 }],
    ['maxStraysPerTick is 0', { maxStraysPerTick: 0 }],
  ])('none when %s', (_name, fields) => {
    const plan = decide(input({ pool: pool([], 1), asg: blindAsg(), now: NOW + T, blindReclaim: { failingSince: NOW }, config: config(fields) }));
    expect(plan.lostReclaims).toEqual([]);
  });

  test('a trusted read ends the failing streak, and keeps when the last reclaim was', () => {
    const trusted = decide(input({
      pool: pool(listed(), 1),
      asg: asg({ instances: [listedInstance(), lostInstance(i1)] }),
      blindReclaim: { failingSince: NOW - T, lastReclaimAt: NOW - 10 },
    }));
    expect(trusted.readFailure).toBeUndefined();
    expect(trusted.blindReclaim).toEqual({ lastReclaimAt: NOW - 10 });
  });

  test('an empty worker list for three hours at max size with runs queued costs one instance per lostReclaimSeconds, not the fleet', () => {
    // Spacelift answering no workers while they are all busy: the drain cannot protect a worker the list omits, so the
    // bound is what limits the harm.
    let state: Parameters<typeof decide>[0]['blindReclaim'];
    const reclaimedAt: number[] = [];
    for (let minute = 0; minute <= 180; minute++) {
      const now = NOW + minute * 60;
      const plan = tick(now, state);
      reclaimedAt.push(...plan.lostReclaims.map(() => minute));
      state = plan.blindReclaim;
    }
    expect(reclaimedAt).toEqual([80, 160]);
  });
});
