/**
 * The autoscaler handler (`lambda/autoscaler/handler.ts` `createHandler`) measured in-process
 * against in-memory fakes of both ports: API calls per tick, tick latency and memory, at 10, 100 and
 * 1,000 workers. One invocation runs one tick (loopSeconds 0). The fakes answer at once, so the
 * latency is the handler's own CPU time (policy, executor, logging to a no-op logger).
 *
 * Scenarios per size N (N instances, N registered workers, desired N, max 2N):
 * - steady: every worker busy, nothing queued: nothing to do;
 * - scale-out: all busy and N/10 runs queued: one SetDesiredCapacity;
 * - scale-in: all idle for an hour: the default plan drains and terminates maxTerminatePerTick workers.
 */
import { type AutoscalerConfig, DEFAULT_METRICS_LEVEL, DEFAULT_POLL_WHEN, DEFAULT_SCHEDULE_SECONDS } from '../lambda/autoscaler/config';
import { createHandler } from '../lambda/autoscaler/handler';
import { DEFAULT_SCALING_CONFIG, type ScalingConfig } from '../lambda/core/config';
import type { Fleet, WorkerPoolApi } from '../lambda/core/ports';
import type { AsgInstance, AsgSnapshot, PoolSnapshot, Worker } from '../lambda/core/types';

export type Scenario = 'steady' | 'scale-out' | 'scale-in';

export interface TickMeasurement {
  readonly workers: number;
  readonly scenario: Scenario;
  readonly awsCalls: number;
  readonly spaceliftCalls: number;
  readonly calls: readonly string[];
  /** Median wall time of one invocation (one tick), milliseconds. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Largest heap in use seen after a tick, MiB (includes the process's baseline, see `heapBaselineMiB`). */
  readonly peakHeapMiB: number;
  /** Heap in use before this measurement built its fixtures, MiB. */
  readonly heapBaselineMiB: number;
  /** The process's peak resident set so far, MiB (monotonic: sizes run smallest first). */
  readonly maxRssMiB: number;
}

const NOW = 1_704_067_200;
const ASG = 'bench-asg';

function instanceId(n: number): string {
  return `i-${(0x10000000 + n).toString(16)}`;
}

interface World {
  pool: PoolSnapshot;
  asg: AsgSnapshot;
}

function buildWorld(size: number, scenario: Scenario): World {
  const workers: Worker[] = [];
  const instances: AsgInstance[] = [];
  for (let n = 0; n < size; n++) {
    const busy = scenario !== 'scale-in';
    instances.push({ id: instanceId(n), lifecycleState: 'InService', protectedFromScaleIn: false });
    workers.push({
      id: `w-${n}`,
      busy,
      drained: false,
      createdAt: NOW - 7200,
      availableAt: NOW - 3600,
      metadata: { valid: true, asgName: ASG, instanceId: instanceId(n) },
    });
  }
  return {
    pool: { pendingRuns: scenario === 'scale-out' ? Math.max(1, Math.floor(size / 10)) : 0, workers },
    asg: { name: ASG, minSize: 0, maxSize: 2 * size, desiredCapacity: size, instances },
  };
}

/** Ports over a fixed world; mutations are recorded but not applied, so every tick sees the same state. */
function ports(world: World, calls: string[]): { workerPool: WorkerPoolApi; fleet: Fleet } {
  const find = (id: string) => world.pool.workers.find((w) => w.id === id)!;
  return {
    workerPool: {
      snapshot: async () => {
        calls.push('spacelift:snapshot');
        return world.pool;
      },
      drain: async (id) => {
        calls.push('spacelift:drain');
        return { worker: { ...find(id), drained: true } };
      },
      undrain: async (id) => {
        calls.push('spacelift:undrain');
        return { worker: { ...find(id), drained: false } };
      },
    },
    fleet: {
      describe: async () => {
        calls.push('aws:DescribeAutoScalingGroups');
        return world.asg;
      },
      instanceFacts: async (ids) => {
        calls.push('aws:DescribeInstances');
        return new Map(ids.map((id) => [id, { launchTime: NOW - 7200, registered: false }]));
      },
      markRegistered: async () => {
        calls.push('aws:CreateTags');
      },
      setDesiredCapacity: async () => {
        calls.push('aws:SetDesiredCapacity');
      },
      terminateInstance: async () => {
        calls.push('aws:TerminateInstanceInAutoScalingGroup');
      },
    },
  };
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const silentMetrics = { addDimension() {}, addMetric() {}, publishStoredMetrics() {} };
const MiB = 1024 * 1024;

export async function measureTick(
  size: number,
  scenario: Scenario,
  iterations: number,
  scaling: ScalingConfig = DEFAULT_SCALING_CONFIG,
): Promise<TickMeasurement> {
  const heapBaseline = process.memoryUsage().heapUsed;
  const world = buildWorld(size, scenario);
  const calls: string[] = [];
  const { workerPool, fleet } = ports(world, calls);
  const config: AutoscalerConfig = {
    spacelift: { endpoint: 'https://bench.app.spacelift.io', apiKeyId: 'bench', apiKeySecretRef: 'bench', workerPoolId: 'bench' },
    asgName: ASG,
    scaling,
    pollIntervalSeconds: 15,
    loopSeconds: 0,
    scheduleSeconds: DEFAULT_SCHEDULE_SECONDS,
    pollWhen: DEFAULT_POLL_WHEN,
    metrics: DEFAULT_METRICS_LEVEL,
  };
  let clock = NOW;
  const handler = createHandler({
    workerPool,
    fleet,
    config,
    logger: silentLogger,
    metrics: silentMetrics,
    clock: () => clock,
    sleep: async () => undefined,
  });
  const context = { getRemainingTimeInMillis: () => 120_000 };

  // The first tick primes the arrival estimate; count calls on the second.
  await handler({}, context);
  clock += 60;
  calls.length = 0;
  await handler({}, context);
  const perTick = [...calls];

  const times: number[] = [];
  let peakHeap = 0;
  for (let i = 0; i < iterations; i++) {
    clock += 60;
    const start = process.hrtime.bigint();
    await handler({}, context);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    calls.length = 0;
    if (i % 10 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  times.sort((a, b) => a - b);
  return {
    workers: size,
    scenario,
    awsCalls: perTick.filter((c) => c.startsWith('aws:')).length,
    spaceliftCalls: perTick.filter((c) => c.startsWith('spacelift:')).length,
    calls: perTick,
    p50Ms: times[Math.floor(times.length / 2)],
    p95Ms: times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)],
    peakHeapMiB: peakHeap / MiB,
    heapBaselineMiB: heapBaseline / MiB,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

export async function measureHandler(sizes: readonly number[] = [10, 100, 1000], iterations = 200): Promise<TickMeasurement[]> {
  const results: TickMeasurement[] = [];
  for (const size of sizes) {
    for (const scenario of ['steady', 'scale-out', 'scale-in'] as const) {
      results.push(await measureTick(size, scenario, size >= 1000 ? Math.max(20, iterations / 4) : iterations));
    }
  }
  return results;
}

if (require.main === module) {
  void measureHandler().then((rows) => {
    for (const row of rows) console.log(JSON.stringify(row));
  });
}
