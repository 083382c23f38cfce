/** The checks of a retained instance's release (lambda/autoscaler/release-retained.ts), against in-memory fakes. */
import { createRetainedReleaser, RELEASE_RETRY_SECONDS } from '../../lambda/autoscaler/release-retained';
import type { AsgSnapshot, Termination, Worker } from '../../lambda/core';
import { SpaceliftApiError } from '../../lambda/spacelift';
import { ASG, InMemoryFleet, InMemoryPool, instance, instanceId, invalidWorker, NOW, RecordingLogger, worker } from './fakes';

const i1 = instanceId(1);
const i2 = instanceId(2);

/** i1 retained (launch time unknown, as the tick reads it for named instances), i2 in service with a busy worker. */
function setup(workers: Worker[], retainedLaunchTime?: number) {
  const asg: AsgSnapshot = {
    name: ASG, minSize: 0, maxSize: 10, desiredCapacity: 1,
    instances: [instance(i1, { lifecycleState: 'Terminating:Retained', launchTime: retainedLaunchTime }), instance(i2)],
  };
  const pool = new InMemoryPool([...workers, worker('w2', i2, { busy: true })]);
  const fleet = new InMemoryFleet(asg);
  const logger = new RecordingLogger();
  const time = { now: NOW };
  const releaser = createRetainedReleaser({ workerPool: pool, fleet, logger, clock: () => time.now });
  const release = (workerId = 'w1', otherWorkerIds: string[] = []) => {
    const termination: Termination = { kind: 'releaseRetained', workerId, otherWorkerIds, instanceId: i1, idleSince: NOW - 600, decrement: false };
    const planned = pool.state();
    pool.calls.length = 0;
    return releaser.release({ termination, pool: planned, asg: fleet.group });
  };
  return { pool, fleet, logger, time, release };
}

const drainedIdle = (id: string, fields: Parameters<typeof worker>[2] = {}) => worker(id, i1, { drained: true, availableAt: NOW - 600, ...fields });

test('drained and idle in the plan, on the re-check and in a fresh snapshot: terminated without decrement', async () => {
  const { pool, fleet, logger, release } = setup([drainedIdle('w1')]);
  expect(await release()).toBe('requested');
  expect(pool.calls).toEqual(['drain w1', 'snapshot']);
  expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
  expect(logger.messages('warn')).toEqual([
    'asked Auto Scaling to terminate a retained instance whose workers are all drained and idle; it passes the termination lifecycle hook again',
  ]);
});

test('every worker on the instance is re-checked', async () => {
  const { pool, release } = setup([drainedIdle('new'), drainedIdle('old')]);
  expect(await release('new', ['old'])).toBe('requested');
  expect(pool.calls).toEqual(['drain new', 'drain old', 'snapshot']);
});

test('a worker busy on the re-check stays drained (never undrained) and the instance stays', async () => {
  const { pool, fleet, release } = setup([drainedIdle('w1')]);
  pool.update('w1', { busy: true });
  expect(await release()).toBe('skipped');
  expect(pool.calls).toEqual(['drain w1']);
  expect(pool.get('w1')).toMatchObject({ drained: true, busy: true });
  expect(fleet.calls).toEqual([]);
});

test('a busy worker does not stop the drain of the instance\'s other, undrained worker', async () => {
  const { pool, fleet, release } = setup([drainedIdle('new', { busy: true }), worker('old', i1)]);
  expect(await release('new', ['old'])).toBe('skipped');
  expect(pool.calls).toEqual(['drain new', 'drain old']);
  expect(pool.get('old')!.drained).toBe(true);
  expect(fleet.calls).toEqual([]);
});

test('an undrained worker is drained even when busy, and never undrained', async () => {
  const { pool, fleet, release } = setup([worker('w1', i1, { busy: true })]);
  expect(await release()).toBe('skipped');
  expect(pool.get('w1')).toMatchObject({ drained: true, busy: true });
  expect(pool.calls).toEqual(['drain w1']);
  expect(fleet.calls).toEqual([]);
});

test.each([
  ['fails', (pool: InMemoryPool) => pool.failNext('drain', new SpaceliftApiError('timeout', 'timed out', { retryable: true, operation: 'WorkerDrainSet' }), true)],
  ['replies undrained', (pool: InMemoryPool) => { pool.onDrain = () => pool.update('w1', { drained: false }); }],
])('a drain that %s: failed, no termination, no undrain', async (_name, fault) => {
  const { pool, fleet, release } = setup([drainedIdle('w1')]);
  fault(pool);
  expect(await release()).toBe('failed');
  expect(pool.calls).toEqual(['drain w1']);
  expect(fleet.calls).toEqual([]);
});

describe('the fresh snapshot', () => {
  test('that fails: failed, no termination', async () => {
    const { pool, fleet, release } = setup([drainedIdle('w1')]);
    pool.failNext('snapshot', new Error('boom'));
    expect(await release()).toBe('failed');
    expect(fleet.calls).toEqual([]);
  });

  test('that is a failed read (no worker on any live instance that had one): skipped', async () => {
    const { pool, fleet, release } = setup([drainedIdle('w1')]);
    fleet.group = { ...fleet.group, instances: fleet.group.instances.map((i) => (i.id === i2 ? { ...i, registered: true } : i)) };
    pool.snapshot = async () => ({ pendingRuns: 0, workers: [] });
    expect(await release()).toBe('skipped');
    expect(fleet.calls).toEqual([]);
  });

  test.each([
    ['a new worker naming the instance', () => worker('w9', i1, { drained: true })],
    ['a worker naming it under another group, busy', () => worker('w9', i1, { asg: 'other-asg', busy: true })],
    ['a worker with invalid metadata (the launch time is unknown)', () => invalidWorker('bad', 'no metadata', { busy: true })],
  ])('that shows %s: skipped', async (_name, extra) => {
    const { pool, fleet, release } = setup([drainedIdle('w1')]);
    pool.onDrain = () => pool.add(extra());
    expect(await release()).toBe('skipped');
    expect(pool.calls).toEqual(['drain w1', 'snapshot']);
    expect(fleet.calls).toEqual([]);
  });

  test('a worker with invalid metadata created before a known launch time does not hold it', async () => {
    const { pool, fleet, release } = setup([drainedIdle('w1')], NOW - 1800);
    pool.add(invalidWorker('old', 'no metadata', { busy: true, createdAt: NOW - 3600 }));
    expect(await release()).toBe('requested');
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
  });

  test('that shows the worker busy by now: skipped', async () => {
    const { pool, fleet, release } = setup([drainedIdle('w1')]);
    let drains = 0;
    pool.onDrain = () => { drains += 1; };
    const snapshot = pool.snapshot.bind(pool);
    pool.snapshot = async () => { pool.update('w1', { busy: true }); return snapshot(); };
    expect(await release()).toBe('skipped');
    expect(drains).toBe(1);
    expect(fleet.calls).toEqual([]);
  });
});

test('retained again after a request (the hook\'s drain failed again): not asked again for an hour', async () => {
  const { fleet, time, release } = setup([drainedIdle('w1')]);
  expect(await release()).toBe('requested');
  time.now += RELEASE_RETRY_SECONDS - 1;
  expect(await release()).toBe('skipped');
  expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
  time.now += 1;
  expect(await release()).toBe('requested');
  expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`, `terminate ${i1} decrement=false`]);
});

test('a failed termination: failed, and asked again on the next tick', async () => {
  const { fleet, release } = setup([drainedIdle('w1')]);
  fleet.failNext('terminateInstance', new Error('ScalingActivityInProgress'));
  expect(await release()).toBe('failed');
  expect(await release()).toBe('requested');
});
