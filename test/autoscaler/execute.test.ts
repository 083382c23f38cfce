import { createExecutor, type ExecutionInput } from '../../lambda/autoscaler/execute';
import type { AsgSnapshot, Plan, Termination } from '../../lambda/core';
import { SpaceliftApiError } from '../../lambda/spacelift';
import {
  ASG,
  awsError,
  InMemoryFleet,
  InMemoryPool,
  instance,
  instanceId,
  invalidWorker,
  MIN_SIZE_REJECTION,
  NOW,
  plan,
  RecordingLogger,
  worker,
} from './fakes';

const i1 = instanceId(1);
const i2 = instanceId(2);
const i3 = instanceId(3);

function group(fields: Partial<AsgSnapshot> = {}): AsgSnapshot {
  const instances = fields.instances ?? [instance(i1), instance(i2)];
  return { name: ASG, minSize: 0, maxSize: 10, desiredCapacity: instances.length, instances, ...fields };
}

function setup(workers = [worker('w1', i1), worker('w2', i2)], asg = group()) {
  const pool = new InMemoryPool(workers);
  const fleet = new InMemoryFleet(asg);
  const logger = new RecordingLogger();
  const time = { now: NOW };
  const executor = createExecutor({ workerPool: pool, fleet, logger, drainReserveMs: 1_000, clock: () => time.now });
  /** One tick's execution, from the current state of both fakes; `calls` then hold only this run's calls. */
  const run = (p: Plan, timeLeftMs = 60_000) => {
    const input: ExecutionInput = { plan: p, pool: pool.state(), asg: fleet.group, timeLeftMs: () => timeLeftMs };
    pool.calls.length = 0;
    return executor.execute(input);
  };
  return { pool, fleet, logger, executor, run, time };
}

const terminate = (workerId: string, instanceId: string): Termination =>
  ({ kind: 'scaleIn', workerId, otherWorkerIds: [], instanceId, idleSince: NOW - 600, decrement: true });

const spaceliftError = (kind: 'timeout' | 'graphql' | 'http' | 'auth', status?: number) =>
  new SpaceliftApiError(kind, `Spacelift WorkerDrainSet failed: ${kind}`, { retryable: kind !== 'graphql', operation: 'WorkerDrainSet', status });

describe('scale out', () => {
  test('raises desired capacity to the planned value', async () => {
    const { fleet, run } = setup();
    const result = await run(plan({ desiredCapacity: 5, scaleOutBy: 3, counts: { desired: 2 } }));
    expect(fleet.calls).toEqual(['setDesiredCapacity 5']);
    expect(result).toMatchObject({ scaledOut: 3, errors: 0 });
  });

  test.each([2, 1])('never sets desired capacity %i when it is 2 (refused and counted as an error)', async (target) => {
    const { fleet, logger, run } = setup();
    const result = await run(plan({ desiredCapacity: target, counts: { desired: 2 } }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ scaledOut: 0, errors: 1 });
    expect(logger.messages('error')).toEqual(['refusing to set desired capacity at or below the current one']);
  });

  test('no desired capacity in the plan: no AWS call', async () => {
    const { fleet, pool, run } = setup();
    await run(plan());
    expect(fleet.calls).toEqual([]);
    expect(pool.calls).toEqual([]);
  });

  test('a failed SetDesiredCapacity is logged and counted; the plan goes on', async () => {
    const { fleet, run } = setup([], group({ instances: [instance(i1, { launchTime: NOW - 5000 })] }));
    fleet.failNext('setDesiredCapacity', awsError('Throttling', 'Rate exceeded'));
    const result = await run(plan({ desiredCapacity: 3, counts: { desired: 1 }, strays: [{ instanceId: i1, launchTime: NOW - 5000 }] }));
    expect(result).toMatchObject({ scaledOut: 0, straysReaped: 1, errors: 1 });
  });
});

describe('drain and terminate', () => {
  test('idle after the drain: terminates with decrement', async () => {
    const { pool, fleet, run } = setup();
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`]);
    expect(result).toMatchObject({ terminated: 1, errors: 0 });
  });

  test('busy after the drain: undrains and skips, and the next candidate is still tried', async () => {
    const { pool, fleet, run } = setup();
    pool.onDrain = (w) => {
      if (w.id === 'w1') pool.update('w1', { busy: true });
    };
    const result = await run(plan({ terminate: [terminate('w1', i1), terminate('w2', i2)] }));
    expect(pool.calls).toEqual(['drain w1', 'undrain w1', 'drain w2']);
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`]);
    expect(pool.get('w1')).toMatchObject({ drained: false, busy: true });
    expect(result).toMatchObject({ drainSkippedBusy: 1, terminated: 1, errors: 0 });
  });

  test('termination fails after the drain, the instance still InService: the worker is undrained', async () => {
    const { pool, fleet, logger, run } = setup();
    fleet.failNext('terminateInstance', awsError('ScalingActivityInProgress', 'activity in progress'));
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`, 'describe']);
    expect(pool.calls).toEqual(['drain w1', 'undrain w1']);
    expect(pool.get('w1')!.drained).toBe(false);
    expect(result).toMatchObject({ terminated: 0, errors: 1 });
    expect(logger.messages('error')).toEqual(['could not terminate drained worker instance']);
  });

  test('termination fails, but a fresh describe shows the instance leaving (a refresh drained it): no undrain', async () => {
    const { pool, fleet, logger, run, executor } = setup();
    fleet.failNext('terminateInstance', awsError('ScalingActivityInProgress', 'activity in progress'));
    // Between our drain and our terminate, an instance refresh started terminating the instance.
    pool.onDrain = () => {
      fleet.group = { ...fleet.group, instances: fleet.group.instances.map((i) => (i.id === i1 ? { ...i, lifecycleState: 'Terminating:Wait' } : i)) };
    };
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(pool.get('w1')!.drained).toBe(true);
    expect(result).toMatchObject({ terminated: 0, errors: 1, undrainFailures: 0 });
    expect(executor.pendingUndrains()).toEqual([]);
    expect(logger.messages('warn')).toEqual(['termination failed, but the instance is leaving the group anyway; its worker stays drained']);
  });

  test('termination fails and the describe fails too: no undrain now, the undrain is left pending for the next tick', async () => {
    const { pool, fleet, run, executor } = setup();
    fleet.failNext('terminateInstance', awsError('ScalingActivityInProgress', 'activity in progress'))
      .failNext('describe', awsError('Throttling', 'Rate exceeded'));
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(result).toMatchObject({ terminated: 0, errors: 2 });
    expect(executor.pendingUndrains()).toEqual(['w1']);
  });

  test('AWS refuses the decrement at min size: terminates once more without decrement, and says why', async () => {
    const { fleet, pool, logger, run } = setup();
    fleet.failNext('terminateInstance', MIN_SIZE_REJECTION);
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`, `terminate ${i1} decrement=false`]);
    expect(pool.calls).toEqual(['drain w1']);
    expect(result).toMatchObject({ terminated: 1, errors: 0 });
    expect(logger.messages('warn')).toEqual([
      'group is at min size, so AWS refused to decrement; terminating without decrement (the ASG replaces it)',
    ]);
  });

  test('the retry without decrement fails too: undrained, one error, no third attempt', async () => {
    const { fleet, pool, run } = setup();
    fleet.failNext('terminateInstance', MIN_SIZE_REJECTION).failNext('terminateInstance', awsError('InternalFailure', 'boom'));
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`, `terminate ${i1} decrement=false`, 'describe']);
    expect(pool.calls).toEqual(['drain w1', 'undrain w1']);
    expect(result).toMatchObject({ terminated: 0, errors: 1 });
  });

  test('other validation errors are not retried without decrement', async () => {
    const { fleet, pool, run } = setup();
    fleet.failNext('terminateInstance', awsError('ValidationError', `Instance Id not found - No managed instance found for instance ID ${i1}`));
    await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`, 'describe']);
    expect(pool.get('w1')!.drained).toBe(false);
  });

  test('a rejected drain (GraphQL error) is counted, not undrained, and the next candidate is tried', async () => {
    const { pool, fleet, run } = setup();
    pool.failNext('drain', spaceliftError('graphql'));
    const result = await run(plan({ terminate: [terminate('w1', i1), terminate('w2', i2)] }));
    expect(pool.calls).toEqual(['drain w1', 'drain w2']);
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`]);
    expect(result).toMatchObject({ terminated: 1, errors: 1 });
  });

  test.each([
    ['a timeout', spaceliftError('timeout')],
    ['a 502', spaceliftError('http', 502)],
    ['an unexpected error', new Error('socket hang up')],
  ])('a drain that failed with %s may have been applied: the worker is undrained and kept', async (_name, error) => {
    const { pool, fleet, run } = setup();
    pool.failNext('drain', error, true);
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1', 'undrain w1']);
    expect(pool.get('w1')!.drained).toBe(false);
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ terminated: 0, errors: 1 });
  });

  test.each([
    ['429', spaceliftError('http', 429)],
    ['an auth failure', spaceliftError('auth')],
  ])('a drain refused with %s is not undrained', async (_name, error) => {
    const { pool, run } = setup();
    pool.failNext('drain', error);
    await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
  });

  test('a drain reply that shows the worker undrained does not lead to a termination', async () => {
    const { pool, fleet, run } = setup();
    pool.onDrain = () => pool.update('w1', { drained: false });
    const result = await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(fleet.calls).toEqual([]);
    expect(result.errors).toBe(1);
  });

  test('no drain starts with less invocation time left than the reserve', async () => {
    const { pool, fleet, logger, run } = setup();
    const result = await run(plan({ terminate: [terminate('w1', i1)] }), 999);
    expect(pool.calls).toEqual([]);
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ terminated: 0, errors: 0 });
    expect(logger.at('info')[0]).toMatchObject({
      message: 'too little invocation time left to drain safely; later ticks continue the scale-in',
      attributes: { skipped: ['w1'] },
    });
  });
});

describe('release of a retained instance (release-retained.ts has the checks)', () => {
  const retainedGroup = () => group({ desiredCapacity: 1, instances: [instance(i1, { lifecycleState: 'Terminating:Retained' }), instance(i2)] });
  const releaseOf = (workerId: string): Termination =>
    ({ kind: 'releaseRetained', workerId, otherWorkerIds: [], instanceId: i1, idleSince: NOW - 1000, decrement: false });

  test('a drained, idle worker: re-checked, a fresh snapshot taken, and the instance terminated without decrement', async () => {
    const { pool, fleet, run } = setup([worker('w1', i1, { drained: true }), worker('w2', i2)], retainedGroup());
    const result = await run(plan({ terminate: [releaseOf('w1')] }));
    expect(pool.calls).toEqual(['drain w1', 'snapshot']);
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
    expect(result).toMatchObject({ retainedReleased: 1, drainedReclaimed: 0, terminated: 0, reclaimsSkipped: 0, errors: 0 });
  });

  test('a worker not drained in the snapshot: drained this tick, terminated only on a tick at least 60 s later', async () => {
    const { pool, fleet, run, time } = setup([worker('w1', i1), worker('w2', i2)], retainedGroup());
    const first = await run(plan({ terminate: [releaseOf('w1')] }));
    expect(pool.get('w1')!.drained).toBe(true);
    expect(fleet.calls).toEqual([]);
    expect(first).toMatchObject({ retainedReleased: 0, reclaimsSkipped: 1, errors: 0 });
    time.now += 59;
    await run(plan({ terminate: [releaseOf('w1')] }));
    expect(fleet.calls).toEqual([]);
    time.now += 1;
    const third = await run(plan({ terminate: [releaseOf('w1')] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
    expect(third).toMatchObject({ retainedReleased: 1 });
  });

  test('a failed termination counts one error and leaves the worker drained', async () => {
    const { pool, fleet, run, executor } = setup([worker('w1', i1, { drained: true }), worker('w2', i2)], retainedGroup());
    fleet.failNext('terminateInstance', awsError('ScalingActivityInProgress', 'activity in progress'));
    const result = await run(plan({ terminate: [releaseOf('w1')] }));
    expect(pool.get('w1')!.drained).toBe(true);
    expect(executor.pendingUndrains()).toEqual([]);
    expect(result).toMatchObject({ retainedReleased: 0, reclaimsSkipped: 1, errors: 1 });
  });
});

describe('a failed undrain', () => {
  /** Busy after the drain, and the undrain fails: the worker is left drained by us. */
  async function leaveDrained() {
    const s = setup();
    s.pool.onDrain = () => s.pool.update('w1', { busy: true });
    s.pool.failNext('undrain', spaceliftError('timeout'));
    const result = await s.run(plan({ terminate: [terminate('w1', i1)] }));
    s.pool.onDrain = undefined;
    return { ...s, result };
  }

  test('is tried once in the tick, logged loudly with the worker id, and stays pending', async () => {
    const { pool, fleet, logger, executor, result } = await leaveDrained();
    expect(pool.calls).toEqual(['drain w1', 'undrain w1']);
    expect(fleet.calls).toEqual([]);
    expect(pool.get('w1')!.drained).toBe(true);
    expect(result).toMatchObject({ drainSkippedBusy: 1, undrainFailures: 1, errors: 1 });
    expect(logger.at('error')).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('UNDRAIN FAILED'),
        attributes: expect.objectContaining({ workerId: 'w1', instanceId: i1 }),
      }),
    ]);
    expect(executor.pendingUndrains()).toEqual(['w1']);
  });

  test('is retried on the next tick while the worker is drained on an InService instance, then settled', async () => {
    const { pool, executor, run } = await leaveDrained();
    const result = await run(plan());
    expect(pool.calls).toEqual(['undrain w1']);
    expect(pool.get('w1')!.drained).toBe(false);
    expect(result).toMatchObject({ undrainFailures: 0, errors: 0 });
    // Settled once a snapshot shows it undrained.
    expect(executor.pendingUndrains()).toEqual(['w1']);
    await run(plan());
    expect(pool.calls).toEqual([]);
    expect(executor.pendingUndrains()).toEqual([]);
  });

  test('fails again: one attempt per tick, still owed', async () => {
    const { pool, executor, run } = await leaveDrained();
    for (let tick = 0; tick < 3; tick++) {
      pool.failNext('undrain', spaceliftError('http', 503));
      const result = await run(plan());
      expect(pool.calls).toEqual(['undrain w1']);
      expect(result).toMatchObject({ undrainFailures: 1, errors: 1 });
    }
    expect(executor.pendingUndrains()).toEqual(['w1']);
  });

  test.each([
    ['the worker is gone', (s: Awaited<ReturnType<typeof leaveDrained>>) => s.pool.remove('w1')],
    ['someone undrained it', (s: Awaited<ReturnType<typeof leaveDrained>>) => s.pool.update('w1', { drained: false })],
    [
      'its instance is terminating (the lifecycle drain wants it drained)',
      (s: Awaited<ReturnType<typeof leaveDrained>>) => {
        s.fleet.group = group({ instances: [instance(i1, { lifecycleState: 'Terminating:Wait' }), instance(i2)] });
      },
    ],
  ])('is dropped without a call when %s', async (_name, change) => {
    const s = await leaveDrained();
    change(s);
    await s.run(plan());
    expect(s.pool.calls).toEqual([]);
    expect(s.executor.pendingUndrains()).toEqual([]);
  });
});

describe('a successful undrain', () => {
  test('is confirmed by the next snapshot without another call', async () => {
    const { pool, executor, run } = setup();
    pool.onDrain = () => pool.update('w1', { busy: true });
    await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(executor.pendingUndrains()).toEqual(['w1']);
    pool.onDrain = undefined;
    await run(plan());
    expect(pool.calls).toEqual([]);
    expect(executor.pendingUndrains()).toEqual([]);
  });

  test('overtaken by a timed-out drain request that Spacelift applied late: undrained again on the next tick', async () => {
    const { pool, fleet, executor, run } = setup();
    pool.failNext('drain', spaceliftError('timeout'));
    await run(plan({ terminate: [terminate('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1', 'undrain w1']);
    expect(fleet.calls).toEqual([]);
    pool.update('w1', { drained: true });
    await run(plan());
    expect(pool.calls).toEqual(['undrain w1']);
    expect(pool.get('w1')!.drained).toBe(false);
    await run(plan());
    expect(executor.pendingUndrains()).toEqual([]);
  });
});

describe('strays', () => {
  const strayGroup = group({ instances: [instance(i1), instance(i2, { launchTime: NOW - 5000 }), instance(i3, { launchTime: NOW - 4000 })] });
  const strays = [{ instanceId: i2, launchTime: NOW - 5000 }, { instanceId: i3, launchTime: NOW - 4000 }];

  test('one fresh snapshot for all of them, then each terminated without decrement', async () => {
    const { pool, fleet, run } = setup([worker('w1', i1)], strayGroup);
    const result = await run(plan({ strays }));
    expect(pool.calls).toEqual(['snapshot']);
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=false`, `terminate ${i3} decrement=false`]);
    expect(result).toMatchObject({ straysReaped: 2, straysSkipped: 0, errors: 0 });
  });

  test('the re-check snapshot is a failed read (no worker on any instance that had one): none terminated', async () => {
    // i1 had a worker (registered); the fresh snapshot lists none at all.
    const lostGroup = group({ instances: [instance(i1, { registered: true }), ...strayGroup.instances.slice(1)] });
    const { fleet, logger, run } = setup([], lostGroup);
    const result = await run(plan({ strays }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ straysReaped: 0, straysSkipped: 2, errors: 0 });
    expect(logger.messages('warn')).toEqual(['the re-check snapshot for strays and lost instances is a failed read; none terminated this tick']);
  });

  test('no strays: no extra snapshot', async () => {
    const { pool, run } = setup();
    await run(plan());
    expect(pool.calls).toEqual([]);
  });

  test('a worker that registered since the plan saves its instance', async () => {
    const { pool, fleet, logger, run } = setup([worker('w1', i1)], strayGroup);
    const p = plan({ strays });
    // Registers (and takes a run) between the tick's snapshot and the stray re-check.
    pool.add(worker('late', i2, { busy: true, createdAt: NOW }));
    const result = await run(p);
    expect(fleet.calls).toEqual([`terminate ${i3} decrement=false`]);
    expect(result).toMatchObject({ straysReaped: 1, straysSkipped: 1 });
    expect(logger.at('info')).toContainEqual(expect.objectContaining({
      message: 'stray registered a worker since the plan; not terminating it',
      attributes: expect.objectContaining({ instanceId: i2, workerId: 'late', busy: true }),
    }));
  });

  test('a worker with invalid metadata that registered after the launch saves the instance', async () => {
    const { pool, fleet, run } = setup([worker('w1', i1)], strayGroup);
    pool.add(invalidWorker('bad', 'no metadata', { createdAt: NOW - 4500 }));
    const result = await run(plan({ strays }));
    // Registered after i2 launched (may run on it), but before i3 launched (cannot).
    expect(fleet.calls).toEqual([`terminate ${i3} decrement=false`]);
    expect(result).toMatchObject({ straysReaped: 1, straysSkipped: 1 });
  });

  test('the re-check snapshot fails: no stray is terminated', async () => {
    const { pool, fleet, run } = setup([worker('w1', i1)], strayGroup);
    pool.failNext('snapshot', spaceliftError('timeout'));
    const result = await run(plan({ strays }));
    expect(pool.calls).toEqual(['snapshot']);
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ straysReaped: 0, errors: 1 });
  });

  test('a failed termination is counted and the next stray is still tried', async () => {
    const { fleet, run } = setup([worker('w1', i1)], strayGroup);
    fleet.failNext('terminateInstance', awsError('InternalFailure', 'boom'));
    const result = await run(plan({ strays }));
    expect(fleet.calls).toHaveLength(2);
    expect(result).toMatchObject({ straysReaped: 1, errors: 1 });
  });
});

describe('reclaim of a lost instance (no worker on any trusted read for lostReclaimSeconds)', () => {
  // i1 keeps its worker (the read is trusted); i2 and i3 lost theirs.
  const lostGroup = group({
    minSize: 1,
    instances: [instance(i1), instance(i2, { launchTime: NOW - 9000, registered: true }), instance(i3, { launchTime: NOW - 8000, registered: true })],
  });
  const lost = (instanceId: string, launchTime: number, decrement = true) => ({ instanceId, launchTime, lostSince: NOW - 5000, decrement });
  const lostReclaims = [lost(i2, NOW - 9000), lost(i3, NOW - 8000, false)];

  test('terminated through the group (the lifecycle hook drains it), after one re-check snapshot shared with the strays', async () => {
    const { pool, fleet, logger, run } = setup([worker('w1', i1)], lostGroup);
    const result = await run(plan({ lostReclaims, strays: [] }));
    expect(pool.calls).toEqual(['snapshot']);
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`, `terminate ${i3} decrement=false`]);
    expect(result).toMatchObject({ lostReclaimed: 2, lostSkipped: 0, errors: 0 });
    expect(logger.at('warn')).toContainEqual(expect.objectContaining({
      message: 'reclaimed an instance that lost its worker (none on any trusted read for lostReclaimSeconds); the lifecycle hook drains it',
      attributes: expect.objectContaining({ instanceId: i2, lostSince: NOW - 5000, decrement: true }),
    }));
  });

  test('a worker listed again, or one with invalid metadata that may run on it, saves the instance', async () => {
    const { pool, fleet, run } = setup([worker('w1', i1)], lostGroup);
    pool.add(worker('back', i2, { busy: true }));
    // Registered after i3 launched: may run on it.
    pool.add(invalidWorker('bad', 'no metadata', { createdAt: NOW - 7000 }));
    const result = await run(plan({ lostReclaims }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ lostReclaimed: 0, lostSkipped: 2 });
  });

  test('the re-check snapshot is a failed read: none terminated', async () => {
    const { fleet, run } = setup([], lostGroup);
    const result = await run(plan({ lostReclaims }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ lostReclaimed: 0, lostSkipped: 2, errors: 0 });
  });

  test('planned on a failed read (the one blind reclaim, core/lost.ts): a failed re-check does not stop it', async () => {
    const { fleet, run } = setup([], lostGroup);
    const result = await run(plan({ lostReclaims: [lost(i2, NOW - 9000)], readFailure: 'failed read: ...' }));
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`]);
    expect(result).toMatchObject({ lostReclaimed: 1, lostSkipped: 0, errors: 0 });
  });

  test('planned on a failed read, but the re-check shows its worker back: kept', async () => {
    const { fleet, run } = setup([worker('back', i2, { busy: true })], lostGroup);
    const result = await run(plan({ lostReclaims: [lost(i2, NOW - 9000)], readFailure: 'failed read: ...' }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ lostReclaimed: 0, lostSkipped: 1 });
  });

  test('min size raised since the plan: retried without decrement', async () => {
    const { fleet, run } = setup([worker('w1', i1)], lostGroup);
    fleet.failNext('terminateInstance', MIN_SIZE_REJECTION);
    const result = await run(plan({ lostReclaims: [lost(i2, NOW - 9000)] }));
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`, `terminate ${i2} decrement=false`]);
    expect(result).toMatchObject({ lostReclaimed: 1, errors: 0 });
  });

  test('a failed termination is counted; the next tick plans it again', async () => {
    const { fleet, logger, run } = setup([worker('w1', i1)], lostGroup);
    fleet.failNext('terminateInstance', awsError('InternalFailure', 'boom'));
    const result = await run(plan({ lostReclaims }));
    expect(fleet.calls).toHaveLength(2);
    expect(result).toMatchObject({ lostReclaimed: 1, errors: 1 });
    expect(logger.messages('error')).toEqual(['could not reclaim the lost instance; a later tick retries']);
  });
});

describe('reclaim of an instance left drained', () => {
  const reclaimOf = (workerId: string, instanceId: string, otherWorkerIds: string[] = [], decrement = true): Termination =>
    ({ kind: 'reclaim', workerId, otherWorkerIds, instanceId, idleSince: NOW - 1000, decrement });
  const drainedSetup = () => setup([worker('w1', i1, { drained: true }), worker('w2', i2)]);

  test('re-checks the drained worker with a drain (no change), then terminates with decrement', async () => {
    const { pool, fleet, logger, run } = drainedSetup();
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`]);
    expect(result).toMatchObject({ drainedReclaimed: 1, terminated: 0, reclaimsSkipped: 0, errors: 0 });
    expect(logger.at('warn')).toEqual([expect.objectContaining({
      message: 'reclaimed an instance whose workers were left drained and idle',
      attributes: expect.objectContaining({ instanceId: i1, workerIds: ['w1'], decrement: true }),
    })]);
  });

  test('planned without decrement (at min size): terminates without decrement', async () => {
    const { fleet, run } = drainedSetup();
    await run(plan({ terminate: [reclaimOf('w1', i1, [], false)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=false`]);
  });

  test('every worker of the instance is re-checked before the termination', async () => {
    const { pool, fleet, run } = setup([worker('new', i1, { drained: true }), worker('old', i1, { drained: true })]);
    const result = await run(plan({ terminate: [reclaimOf('new', i1, ['old'])] }));
    expect(pool.calls).toEqual(['drain new', 'drain old']);
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`]);
    expect(result.drainedReclaimed).toBe(1);
  });

  test('a worker busy after all is left drained: no undrain, no termination, and the next entry is still tried', async () => {
    const { pool, fleet, logger, run } = drainedSetup();
    pool.update('w1', { busy: true });
    const result = await run(plan({ terminate: [reclaimOf('w1', i1), terminate('w2', i2)] }));
    expect(pool.calls).toEqual(['drain w1', 'drain w2']);
    expect(fleet.calls).toEqual([`terminate ${i2} decrement=true`]);
    expect(pool.get('w1')).toMatchObject({ drained: true, busy: true });
    expect(result).toMatchObject({ drainedReclaimed: 0, reclaimsSkipped: 1, terminated: 1, drainSkippedBusy: 0, errors: 0 });
    expect(logger.messages('info')).toContain(
      'drained worker is busy after all; leaving it drained until its run ends (a later tick reclaims it)',
    );
  });

  test('one busy worker of several stops the reclaim', async () => {
    const { pool, fleet, run } = setup([worker('new', i1, { drained: true }), worker('old', i1, { drained: true, busy: true })]);
    const result = await run(plan({ terminate: [reclaimOf('new', i1, ['old'])] }));
    expect(pool.calls).toEqual(['drain new', 'drain old']);
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ drainedReclaimed: 0, reclaimsSkipped: 1 });
  });

  test.each([
    ['a timeout (may have been applied)', spaceliftError('timeout')],
    ['a GraphQL error', spaceliftError('graphql')],
  ])('a re-check that fails with %s: no undrain, no termination, one error', async (_name, error) => {
    const { pool, fleet, run, executor } = drainedSetup();
    pool.failNext('drain', error, true);
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(fleet.calls).toEqual([]);
    expect(pool.get('w1')!.drained).toBe(true);
    expect(result).toMatchObject({ drainedReclaimed: 0, reclaimsSkipped: 1, errors: 1, undrainFailures: 0 });
    expect(executor.pendingUndrains()).toEqual([]);
  });

  test('a drain reply that shows the worker undrained: no termination, one error', async () => {
    const { pool, fleet, run } = drainedSetup();
    pool.onDrain = () => pool.update('w1', { drained: false });
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ reclaimsSkipped: 1, errors: 1 });
  });

  test('a failed termination leaves the worker drained (no undrain): the next tick plans the reclaim again', async () => {
    const { pool, fleet, logger, run, executor } = drainedSetup();
    fleet.failNext('terminateInstance', awsError('ScalingActivityInProgress', 'activity in progress'));
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
    expect(pool.calls).toEqual(['drain w1']);
    expect(pool.get('w1')!.drained).toBe(true);
    expect(executor.pendingUndrains()).toEqual([]);
    expect(result).toMatchObject({ drainedReclaimed: 0, errors: 1 });
    expect(logger.messages('error')).toEqual(['could not reclaim the drained instance; its workers stay drained and a later tick retries']);
  });

  test('AWS refuses the decrement at min size: terminates once more without decrement', async () => {
    const { fleet, run } = drainedSetup();
    fleet.failNext('terminateInstance', MIN_SIZE_REJECTION);
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
    expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`, `terminate ${i1} decrement=false`]);
    expect(result).toMatchObject({ drainedReclaimed: 1, errors: 0 });
  });

  test('no re-check starts with less invocation time left than the reserve', async () => {
    const { pool, fleet, run } = drainedSetup();
    const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }), 999);
    expect(pool.calls).toEqual([]);
    expect(fleet.calls).toEqual([]);
    expect(result).toMatchObject({ drainedReclaimed: 0, errors: 0 });
  });

  describe('and a pending undrain of this container for the same worker', () => {
    /** Tick 1: busy when drained, and the undrain fails; then the run ends, so the worker is drained and idle. */
    async function pendingThenIdle() {
      const s = setup();
      s.pool.onDrain = () => s.pool.update('w1', { busy: true });
      s.pool.failNext('undrain', spaceliftError('timeout'));
      await s.run(plan({ terminate: [terminate('w1', i1)] }));
      s.pool.onDrain = undefined;
      s.pool.update('w1', { busy: false });
      expect(s.executor.pendingUndrains()).toEqual(['w1']);
      return s;
    }

    test('the undrain is retried first; if it succeeds, the worker is kept (no re-check, no termination)', async () => {
      const { pool, fleet, logger, run } = await pendingThenIdle();
      const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
      expect(pool.calls).toEqual(['undrain w1']);
      expect(fleet.calls).toEqual([]);
      expect(pool.get('w1')!.drained).toBe(false);
      expect(result).toMatchObject({ drainedReclaimed: 0, reclaimsSkipped: 1, errors: 0 });
      expect(logger.messages('info')).toContain(
        'not reclaiming the drained instance: a pending undrain of this container undrained its worker this tick',
      );
    });

    test('if the undrain fails again, the reclaim goes ahead and the pending undrain is dropped', async () => {
      const { pool, fleet, run, executor } = await pendingThenIdle();
      pool.failNext('undrain', spaceliftError('http', 503));
      const result = await run(plan({ terminate: [reclaimOf('w1', i1)] }));
      expect(pool.calls).toEqual(['undrain w1', 'drain w1']);
      expect(fleet.calls).toEqual([`terminate ${i1} decrement=true`]);
      expect(result).toMatchObject({ drainedReclaimed: 1, undrainFailures: 1, errors: 1 });
      expect(executor.pendingUndrains()).toEqual([]);
    });
  });
});
