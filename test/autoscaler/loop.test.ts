/**
 * The polling loop of one invocation, on a fake clock: ticks on the poll-interval grid, stop at LOOP_SECONDS or
 * before the invocation deadline, and survive failing ticks.
 */
import { loadAutoscalerConfig } from '../../lambda/autoscaler/config';
import { AutoscalerMetric, createHandler, DEFAULT_TICK_RESERVE_MS } from '../../lambda/autoscaler/handler';
import { MAX_POKE_DEFER_SECONDS, WEBHOOK_POKE_SOURCE } from '../../lambda/shared/poke';
import { SpaceliftApiError } from '../../lambda/spacelift';
import { ASG, InMemoryFleet, InMemoryPool, instance, instanceId, invalidWorker, NOW, RecordingLogger, RecordingMetrics, worker } from './fakes';

const ENV = {
  SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
  SPACELIFT_API_KEY_ID: '01APIKEY',
  SPACELIFT_API_KEY_SECRET_ARN: '/spacelift/api-key',
  SPACELIFT_WORKER_POOL_ID: '01POOL',
  ASG_NAME: ASG,
  // These tests are about the loop's grid and deadlines; when it ends early is tested in next-tick.test.ts and below.
  POLL_WHEN: 'always',
  METRICS: 'all',
};

interface LoopSetup {
  readonly env?: Record<string, string>;
  /** Invocation time left when it starts. */
  readonly budgetMs?: number;
  /** Seconds each pool snapshot takes on the fake clock. */
  readonly snapshotSeconds?: (tick: number) => number;
  readonly tickReserveMs?: number;
}

function setup(options: LoopSetup = {}) {
  let now = NOW;
  const pool = new InMemoryPool([worker('w1', instanceId(1), { busy: true })]);
  const fleet = new InMemoryFleet({ name: ASG, minSize: 0, maxSize: 10, desiredCapacity: 1, instances: [instance(instanceId(1))] });
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const tickStarts: number[] = [];
  const sleeps: number[] = [];
  const snapshot = pool.snapshot.bind(pool);
  pool.snapshot = async () => {
    tickStarts.push(now - NOW);
    now += options.snapshotSeconds?.(tickStarts.length) ?? 0;
    return snapshot();
  };
  const handler = createHandler({
    workerPool: pool,
    fleet,
    config: loadAutoscalerConfig({ ...ENV, ...options.env }),
    logger,
    metrics,
    clock: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms / 1000;
    },
    tickReserveMs: options.tickReserveMs,
  });
  const invoke = (event: unknown = { source: 'aws.events' }) => {
    const deadline = now * 1000 + (options.budgetMs ?? 120_000);
    return handler(event, { getRemainingTimeInMillis: () => deadline - now * 1000 });
  };
  const advance = (seconds: number) => {
    now += seconds;
  };
  return { pool, fleet, logger, metrics, invoke, tickStarts, sleeps, advance };
}

describe('when the loop ends early (POLL_WHEN needed, the default)', () => {
  const needed = { POLL_WHEN: 'needed' };

  test('a pool with nothing due ends after one tick, queued runs included', async () => {
    const { pool, invoke, tickStarts, logger } = setup({ env: needed });
    pool.pendingRuns = 2;
    await invoke();
    expect(tickStarts).toEqual([0]);
    expect(logger.messages('info')).toContain('no further tick in this invocation');
  });

  test('an idle worker whose delay runs out within the loop gets a tick at that moment', async () => {
    const { pool, fleet, invoke, tickStarts } = setup({ env: { ...needed, SCALE_DOWN_DELAY: 'fixed:30' } });
    // Idle for 8 s: eligible 22 s from now, off the 15 s grid.
    pool.add(worker('w2', instanceId(2), { availableAt: NOW - 8 }));
    fleet.group = { ...fleet.group, desiredCapacity: 2, instances: [...fleet.group.instances, instance(instanceId(2))] };
    await invoke();
    expect(tickStarts).toEqual([0, 22]);
  });

  test('by default a tick sends only the metrics the alarms read, and only when not zero', async () => {
    const { invoke, metrics, pool } = setup({ env: { ...needed, METRICS: 'alarms' } });
    pool.failNext('snapshot', new Error('boom'));
    await invoke();
    // The failed tick's Errors, then nothing: busy workers, desired capacity... are not sent.
    expect(metrics.published.map((batch) => batch.values)).toEqual([{ [AutoscalerMetric.Errors]: 1 }, {}]);
  });

  test('a tick sends only non-zero metric values: CloudWatch bills every hour a custom metric receives data', async () => {
    const { invoke, metrics } = setup({ env: needed });
    await invoke();
    const sent = metrics.lastSent();
    expect(Object.values(sent).filter((value) => value === 0)).toEqual([]);
    expect(sent[AutoscalerMetric.BusyWorkers]).toBe(1);
    expect(sent[AutoscalerMetric.PendingRuns]).toBeUndefined();
  });

  test('an instance Auto Scaling retained (its termination\'s action expired undrained) is reported for the alarm', async () => {
    const { invoke, metrics, fleet } = setup({ env: { ...needed, METRICS: 'alarms' } });
    fleet.group = { ...fleet.group, instances: [...fleet.group.instances, instance(instanceId(7), { lifecycleState: 'Terminating:Retained' })] };
    await invoke();
    expect(metrics.lastSent()).toEqual({ [AutoscalerMetric.RetainedInstances]: 1 });
  });

  test('a retained instance\'s undrained worker is drained at once; the instance is terminated without decrement a minute later', async () => {
    const { invoke, metrics, fleet, pool, advance, logger } = setup({ env: { ...needed, METRICS: 'all' } });
    const retained = instanceId(7);
    fleet.group = { ...fleet.group, instances: [...fleet.group.instances, instance(retained, { lifecycleState: 'Terminating:Retained' })] };
    pool.add(worker('w7', retained, { availableAt: NOW - 10 }));
    await invoke();
    expect(pool.get('w7')!.drained).toBe(true);
    expect(fleet.calls.filter((call) => call.startsWith('terminate'))).toEqual([]);
    advance(60);
    await invoke();
    expect(fleet.calls.filter((call) => call.startsWith('terminate'))).toEqual([`terminate ${retained} decrement=false`]);
    expect(metrics.published.map((batch) => batch.values[AutoscalerMetric.RetainedReleased])).toContain(1);
    // Retained again (its hook's drain failed once more): not planned, so not asked for again, within the hour.
    fleet.group = { ...fleet.group, instances: fleet.group.instances.map((i) => (i.id === retained ? { ...i, lifecycleState: 'Terminating:Retained' } : i)) };
    advance(600);
    await invoke();
    expect(fleet.calls.filter((call) => call.startsWith('terminate'))).toHaveLength(1);
    // Left out of the plan, not planned and skipped: it takes no repair slot.
    expect(logger.messages('info').filter((m) => m.startsWith('retained again after our termination request'))).toEqual([]);
  });

  test('a retained instance\'s launch time is read, so a worker with invalid metadata older than it does not hold its release', async () => {
    const { invoke, fleet, pool } = setup({ env: needed });
    const retained = instanceId(7);
    fleet.group = {
      ...fleet.group,
      instances: [...fleet.group.instances, instance(retained, { lifecycleState: 'Terminating:Retained', launchTime: NOW - 1800 })],
    };
    pool.add(worker('w7', retained, { availableAt: NOW - 10 }));
    pool.add(invalidWorker('laptop', 'no metadata', { createdAt: NOW - 3600 }));
    await invoke();
    expect(pool.get('w7')!.drained).toBe(true);
    expect(fleet.calls).toContain(`instanceFacts ${retained}`);
  });

  test('a webhook poke only scales out: an idle worker due for release is left to the scheduled ticks', async () => {
    const idleWorker = () => {
      const s = setup({ env: needed });
      s.pool.add(worker('w2', instanceId(2), { availableAt: NOW - 600 }));
      s.fleet.group = { ...s.fleet.group, desiredCapacity: 2, instances: [...s.fleet.group.instances, instance(instanceId(2))] };
      return s;
    };
    const poked = idleWorker();
    await poked.invoke({ source: WEBHOOK_POKE_SOURCE });
    expect(poked.fleet.calls.filter((call) => call.startsWith('terminate'))).toEqual([]);
    const scheduled = idleWorker();
    await scheduled.invoke();
    expect(scheduled.fleet.calls.filter((call) => call.startsWith('terminate'))).toHaveLength(1);
  });

  test('a trailing poke ticks when the webhook\'s interval ends, once, and only scales out', async () => {
    const { invoke, tickStarts, sleeps, logger, pool, fleet } = setup({ env: needed });
    // An idle worker long past its scale-down delay: a scheduled tick would release it.
    pool.add(worker('w2', instanceId(2), { availableAt: NOW - 600 }));
    fleet.group = { ...fleet.group, desiredCapacity: 2, instances: [...fleet.group.instances, instance(instanceId(2))] };
    await invoke({ source: WEBHOOK_POKE_SOURCE, notBefore: NOW + 4 });
    expect(sleeps).toEqual([4_000]);
    expect(tickStarts).toEqual([4]);
    expect(fleet.calls.filter((call) => call.startsWith('terminate'))).toEqual([]);
    expect(logger.messages('info')).toContain('trailing poke: waiting for the end of the webhook\'s interval');
  });

  test('a poke ticks once and ends, even when the loop would tick again (a minimum idle floor)', async () => {
    const { invoke, tickStarts } = setup({ env: { ...needed, MIN_IDLE: '1' } });
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW, notBefore: NOW + 4 });
    expect(tickStarts).toEqual([4]);
  });

  test('a poke that a tick has served since it was sent gets no tick; one sent after that tick does', async () => {
    const { invoke, tickStarts, logger } = setup({ env: needed });
    await invoke();
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW - 1 });
    expect(tickStarts).toEqual([0]);
    expect(logger.messages('info')).toContain('poke already served by a later tick');
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW + 1 });
    expect(tickStarts).toEqual([0, 0]);
  });

  test('a tick that could not read the pool serves no poke', async () => {
    const { invoke, pool, tickStarts } = setup({ env: { ...needed, LOOP_SECONDS: '0' } });
    pool.failNext('snapshot', new Error('boom'));
    await invoke();
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW - 1 });
    expect(tickStarts).toEqual([0, 0]);
  });

  test('pokes that keep the scheduled invocations out for more than a schedule period release idle workers', async () => {
    const { invoke, pool, fleet, sleeps } = setup({ env: needed });
    pool.add(worker('w2', instanceId(2), { availableAt: NOW - 600 }));
    fleet.group = { ...fleet.group, desiredCapacity: 2, instances: [...fleet.group.instances, instance(instanceId(2))] };
    const terminations = () => fleet.calls.filter((call) => call.startsWith('terminate'));
    // Within a schedule period and an interval of the container's start (60 + 15 s): scale-out only.
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW, notBefore: NOW + 30 });
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW + 31, notBefore: NOW + 60 });
    expect(sleeps).toEqual([30_000, 30_000]);
    expect(terminations()).toEqual([]);
    await invoke({ source: WEBHOOK_POKE_SOURCE, sentAt: NOW + 61, notBefore: NOW + 80 });
    expect(terminations()).toHaveLength(1);
  });

  test.each([
    ['in the past', NOW - 10, []],
    ['not a number', '5', []],
    ['not finite', Number.POSITIVE_INFINITY, []],
    ['too far ahead: waits at most MAX_POKE_DEFER_SECONDS', NOW + 3_600, [MAX_POKE_DEFER_SECONDS * 1000]],
  ])('a poke whose notBefore is %s ticks at once or waits a bounded time', async (_, notBefore, expectedSleeps) => {
    const { invoke, sleeps, tickStarts } = setup({ env: needed });
    await invoke({ source: WEBHOOK_POKE_SOURCE, notBefore });
    expect(sleeps).toEqual(expectedSleeps);
    expect(tickStarts).toHaveLength(1);
  });

  // Not reachable with the construct's timeout (the loop and a 30 s wait fit in it with the reserve to spare); a guard
  // against a shorter one: the tick comes early, and the deliveries coalesced into it wait for the schedule.
  test('a trailing poke that would leave too little time for its tick does not wait', async () => {
    const { invoke, sleeps, tickStarts } = setup({ env: needed, budgetMs: DEFAULT_TICK_RESERVE_MS + 2_000 });
    await invoke({ source: WEBHOOK_POKE_SOURCE, notBefore: NOW + 5 });
    expect(sleeps).toEqual([]);
    expect(tickStarts).toEqual([0]);
  });

  test('a minimum idle floor keeps the 15 s grid', async () => {
    const { invoke, tickStarts } = setup({ env: { ...needed, MIN_IDLE: '1' } });
    await invoke();
    expect(tickStarts).toEqual([0, 15, 30, 45]);
  });
});

describe('polling loop', () => {
  test('defaults: ticks at 0, 15, 30 and 45 s, then stops (LOOP_SECONDS 50)', async () => {
    const { invoke, tickStarts, sleeps, metrics } = setup();
    await expect(invoke()).resolves.toEqual({ ticks: 4, failedTicks: 0, errors: 0 });
    expect(tickStarts).toEqual([0, 15, 30, 45]);
    expect(sleeps).toEqual([15_000, 15_000, 15_000]);
    expect(metrics.published).toHaveLength(4);
  });

  test('ticks stay on the grid when a tick takes time', async () => {
    const { invoke, tickStarts, sleeps } = setup({ snapshotSeconds: () => 2.5 });
    await invoke();
    expect(tickStarts).toEqual([0, 15, 30, 45]);
    expect(sleeps).toEqual([12_500, 12_500, 12_500]);
  });

  test('a tick that overruns its slot skips the missed slot instead of running back to back', async () => {
    const { invoke, tickStarts } = setup({ snapshotSeconds: (tick) => (tick === 1 ? 20 : 1) });
    await invoke();
    expect(tickStarts).toEqual([0, 30, 45]);
  });

  test('POLL_INTERVAL_SECONDS and LOOP_SECONDS are honoured', async () => {
    const { invoke, tickStarts } = setup({ env: { POLL_INTERVAL_SECONDS: '10', LOOP_SECONDS: '35' } });
    await invoke();
    expect(tickStarts).toEqual([0, 10, 20, 30]);
  });

  test('LOOP_SECONDS 0: a single tick and no sleep', async () => {
    const { invoke, sleeps } = setup({ env: { LOOP_SECONDS: '0' } });
    await expect(invoke()).resolves.toMatchObject({ ticks: 1 });
    expect(sleeps).toEqual([]);
  });

  test('stops before the invocation deadline: no tick starts with less than the reserve left', async () => {
    const { invoke, tickStarts, logger } = setup({ budgetMs: 60_000 });
    await invoke();
    // At 30 s, 30 s are left (= the reserve); at 45 s only 15 s would be.
    expect(DEFAULT_TICK_RESERVE_MS).toBe(30_000);
    expect(tickStarts).toEqual([0, 15, 30]);
    expect(logger.at('info')).toContainEqual(expect.objectContaining({
      message: 'stopping early: too little invocation time left for another tick',
      attributes: { leftAtStart: 15_000, reserveMs: 30_000 },
    }));
  });

  test('the first tick always runs, even with little time left (its drains are guarded separately)', async () => {
    const { invoke, tickStarts } = setup({ budgetMs: 5_000 });
    await invoke();
    expect(tickStarts).toEqual([0]);
  });

  test('a failing tick is logged and counted, and the loop goes on; the invocation does not throw', async () => {
    const { pool, invoke, tickStarts, logger, metrics } = setup();
    const down = new SpaceliftApiError('http', 'Spacelift WorkerPoolSnapshot failed: HTTP 503 (after 4 attempts)', {
      retryable: true,
      operation: 'WorkerPoolSnapshot',
      status: 503,
    });
    pool.failNext('snapshot', down).failNext('snapshot', down);

    await expect(invoke()).resolves.toEqual({ ticks: 4, failedTicks: 2, errors: 2 });
    expect(tickStarts).toEqual([0, 15, 30, 45]);
    expect(logger.messages('error')).toEqual([
      'tick failed; the next tick starts again from fresh snapshots',
      'tick failed; the next tick starts again from fresh snapshots',
    ]);
    // Zero is not sent (CloudWatch bills every hour a metric receives data).
    expect(metrics.published.map((batch) => batch.values[AutoscalerMetric.Errors])).toEqual([1, 1, undefined, undefined]);
  });

  test('an AWS failure fails the tick the same way', async () => {
    const { fleet, invoke } = setup({ env: { LOOP_SECONDS: '0' } });
    fleet.failNext('describe', Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(invoke()).resolves.toEqual({ ticks: 1, failedTicks: 1, errors: 1 });
  });

  test('launch times that cannot be read: the tick goes on without strays, and the error is counted', async () => {
    const { fleet, invoke, logger } = setup({ env: { LOOP_SECONDS: '0' } });
    fleet.group = { ...fleet.group, desiredCapacity: 2, instances: [...fleet.group.instances, instance(instanceId(2), { launchTime: NOW - 5000 })] };
    fleet.failNext('instanceFacts', new Error('UnauthorizedOperation'));
    await expect(invoke()).resolves.toEqual({ ticks: 1, failedTicks: 0, errors: 1 });
    expect(fleet.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
    expect(logger.messages('warn')).toContain('could not read EC2 launch times; instances without a worker count as launching this tick');
  });

  test('the arrival estimate carries over between ticks and warm invocations', async () => {
    const { pool, invoke, logger } = setup({ env: { SCALE_DOWN_DELAY: 'breakEven' } });
    const delays = () => logger.at('info').filter((e) => e.message === 'scaling plan').map((e) => e.attributes.scaleDownDelaySeconds);
    // A run starts on a new worker every invocation (45 s of ticks each): once the estimate spans one half-life
    // (600 s) the delay leaves its neutral value (one boot, 120 s) for a longer one.
    for (let invocation = 0; invocation < 16; invocation++) {
      pool.add(worker(`busy${invocation}`, instanceId(100 + invocation), { busy: true }));
      await invoke();
    }
    const seen = delays();
    expect(seen[0]).toBe(120);
    expect(seen[seen.length - 1]).toBeGreaterThan(120);
  });
});
