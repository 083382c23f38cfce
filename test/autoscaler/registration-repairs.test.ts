/**
 * Whole ticks (runTick with the real executor) over a small in-memory group that launches instances when desired
 * capacity rises: a launcher that writes invalid metadata must not make the pool grow without bound, and an
 * instance that lost its worker for good is reclaimed through the lifecycle hook (a terminate), once, late.
 */
import { createExecutor } from '../../lambda/autoscaler/execute';
import { AutoscalerMetric, runTick, type TickState } from '../../lambda/autoscaler/tick';
import { DEFAULT_SCALING_CONFIG, type ScalingConfig } from '../../lambda/core/config';
import { ASG, InMemoryFleet, InMemoryPool, instance, instanceId, invalidWorker, NOW, RecordingLogger, RecordingMetrics, worker } from './fakes';

/** Seconds from launch until the launcher registers its worker. */
const BOOT = 90;

/** A group that launches an instance per unit of desired capacity, whose launcher registers a worker BOOT s later. */
class LaunchingFleet extends InMemoryFleet {
  private launched = 0;

  constructor(private readonly pool: InMemoryPool, private readonly clock: () => number, private readonly invalidMetadata: boolean) {
    super({ name: ASG, minSize: 0, maxSize: 50, desiredCapacity: 0, instances: [] });
  }

  override async setDesiredCapacity(desired: number): Promise<void> {
    await super.setDesiredCapacity(desired);
    const live = this.group.instances.filter((i) => i.lifecycleState === 'Pending' || i.lifecycleState === 'InService');
    const added = Array.from({ length: desired - live.length }, () =>
      instance(instanceId(100 + ++this.launched), { lifecycleState: 'Pending', launchTime: this.clock() }));
    this.group = { ...this.group, instances: [...this.group.instances, ...added] };
  }

  /** Instances whose boot time has come get their worker and go InService. */
  boot(): void {
    const now = this.clock();
    this.group = {
      ...this.group,
      instances: this.group.instances.map((i) => {
        if (i.lifecycleState !== 'Pending' || now - i.launchTime! < BOOT) return i;
        const fields = { createdAt: i.launchTime! + BOOT, availableAt: i.launchTime! + BOOT };
        this.pool.add(this.invalidMetadata ? invalidWorker(`x-${i.id}`, 'no metadata', fields) : worker(`w-${i.id}`, i.id, fields));
        return { ...i, lifecycleState: 'InService' };
      }),
    };
  }
}

function setup(scaling: Partial<ScalingConfig>, fleetOf: (pool: InMemoryPool, clock: () => number) => InMemoryFleet) {
  let now = NOW;
  const clock = () => now;
  const pool = new InMemoryPool();
  const fleet = fleetOf(pool, clock);
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const newContainer = () => {
    const executor = createExecutor({ workerPool: pool, fleet, logger, drainReserveMs: 0, clock });
    const deps = { workerPool: pool, fleet, executor, asgName: ASG, scaling: { ...DEFAULT_SCALING_CONFIG, ...scaling }, metricsLevel: 'all' as const, logger, metrics, clock };
    const state: TickState = {};
    return () => runTick(deps, state, () => 60_000);
  };
  let tick = newContainer();
  return {
    pool,
    fleet,
    logger,
    metrics,
    advance: (seconds: number) => {
      now += seconds;
    },
    tick: () => tick(),
    coldStart: () => {
      tick = newContainer();
    },
  };
}

describe('a launcher that registers every worker with invalid metadata (a custom AMI)', () => {
  test('minIdle 1, 30 ticks a minute apart: desired stays at the one idle worker asked for; no read counts as failed', async () => {
    let fleet: LaunchingFleet | undefined;
    const world = setup({ minIdle: 1 }, (pool, clock) => (fleet = new LaunchingFleet(pool, clock, true)));
    const desired: number[] = [];
    for (let i = 0; i < 30; i++) {
      fleet!.boot();
      await world.tick();
      desired.push(fleet!.group.desiredCapacity);
      world.advance(60);
    }
    expect(world.pool.state().workers.every((w) => !w.metadata.valid)).toBe(true);
    expect(Math.max(...desired)).toBe(1);
    expect(world.metrics.total(AutoscalerMetric.FailedReads)).toBe(0);
    expect(fleet!.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
  });

  test('runs queued on top: launches for the queue, never beyond what the queue and minIdle ask for', async () => {
    let fleet: LaunchingFleet | undefined;
    const world = setup({ minIdle: 1 }, (pool, clock) => (fleet = new LaunchingFleet(pool, clock, true)));
    const desired: number[] = [];
    for (let i = 0; i < 30; i++) {
      // Two runs queue at minute 5; Spacelift starts them on the idle workers as they appear.
      if (i === 5) world.pool.pendingRuns = 2;
      fleet!.boot();
      const idle = world.pool.state().workers.filter((w) => !w.busy);
      for (const w of idle.slice(0, world.pool.pendingRuns)) {
        world.pool.update(w.id, { busy: true });
        world.pool.pendingRuns--;
      }
      await world.tick();
      desired.push(fleet!.group.desiredCapacity);
      world.advance(60);
    }
    // Both runs started, and the pool never grew beyond the two queued runs plus minIdle. The workers have invalid
    // metadata, so the policy cannot see them busy: one run took the idle worker before the tick, so it launched
    // one instance for the other, and keeps no idle worker above the busy ones (a known cost of bad metadata).
    expect(world.pool.pendingRuns).toBe(0);
    expect(Math.max(...desired)).toBeLessThanOrEqual(2 + 1);
    expect(desired[desired.length - 1]).toBe(2);
  });
});

describe('an instance whose worker is gone for good (a wedged launcher, or a worker Spacelift removed)', () => {
  /**
   * Instance 1 with worker w1 (gone after the first tick), instance 2 with w2 (listed all along: reads are trusted).
   * Both busy, so scale-in leaves them alone.
   */
  async function lostWorld(scaling: Partial<ScalingConfig> = {}) {
    const world = setup(scaling, () => new InMemoryFleet({
      name: ASG, minSize: 0, maxSize: 10, desiredCapacity: 2, instances: [instance(instanceId(1)), instance(instanceId(2))],
    }));
    world.pool.add(worker('w1', instanceId(1), { busy: true })).add(worker('w2', instanceId(2), { busy: true }));
    await world.tick();
    world.pool.remove('w1');
    return world;
  }

  const terminations = (fleet: InMemoryFleet) => fleet.calls.filter((c) => c.startsWith('terminate'));
  /** One tick a minute for `minutes` minutes, with no termination yet. */
  async function minutesWithoutTermination(world: Awaited<ReturnType<typeof lostWorld>>, minutes: number) {
    for (let minute = 1; minute <= minutes; minute++) {
      world.advance(60);
      await world.tick();
      expect(terminations(world.fleet)).toEqual([]);
    }
  }

  test('is terminated through the group (so the lifecycle hook drains it) once lost for lostReclaimSeconds, with decrement', async () => {
    const world = await lostWorld();
    await minutesWithoutTermination(world, 80);
    // 80 minutes after the first tick that found it lost.
    world.advance(60);
    await world.tick();
    expect(terminations(world.fleet)).toEqual([`terminate ${instanceId(1)} decrement=true`]);
    expect(world.metrics.last()).toMatchObject({ [AutoscalerMetric.LostReclaimed]: 1 });
    expect(world.metrics.total(AutoscalerMetric.LostReclaimed)).toBe(1);
    expect(world.logger.messages('warn')).toContain(
      'reclaimed an instance that lost its worker (none on any trusted read for lostReclaimSeconds); the lifecycle hook drains it',
    );
    world.advance(60);
    await world.tick();
    expect(terminations(world.fleet)).toHaveLength(1);
  });

  test('a cold start only delays it: the clock starts again', async () => {
    const world = await lostWorld({ lostReclaimSeconds: 600 });
    await minutesWithoutTermination(world, 8);
    world.coldStart();
    await minutesWithoutTermination(world, 10);
    world.advance(60);
    await world.tick();
    expect(terminations(world.fleet)).toEqual([`terminate ${instanceId(1)} decrement=true`]);
  });

  test('the re-check finds the worker listed again: not terminated', async () => {
    const world = await lostWorld({ lostReclaimSeconds: 60 });
    world.advance(60);
    await world.tick();
    world.advance(60);
    const snapshot = world.pool.snapshot.bind(world.pool);
    let reads = 0;
    world.pool.snapshot = async () => {
      // The re-check (second read of the tick) lists the worker again.
      if (++reads === 2) world.pool.add(worker('w1', instanceId(1)));
      return snapshot();
    };
    await world.tick();
    expect(terminations(world.fleet)).toEqual([]);
    expect(world.logger.messages('info')).toContain('the lost instance\'s worker is listed again; not terminating it');
  });

  test.each<[string, Partial<ScalingConfig>]>([
    ['reapStrays off (powerOffOnError false keeps failed instances)', { reapStrays: false, lostReclaimSeconds: 60 }],
    ['lostReclaimSeconds 0', { lostReclaimSeconds: 0 }],
  ])('%s: kept', async (_name, scaling) => {
    const world = await lostWorld(scaling);
    for (let minute = 1; minute <= 120; minute++) {
      world.advance(60);
      await world.tick();
    }
    expect(terminations(world.fleet)).toEqual([]);
    expect(world.metrics.last()).toMatchObject({ [AutoscalerMetric.LostWorkerInstances]: 1 });
  });
});
