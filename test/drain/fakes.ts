/**
 * Test doubles for the drain handler: an in-memory Spacelift pool, a model of one lifecycle hook behind
 * aws-sdk-client-mock, a fake clock, and a queue driver that feeds re-sent messages back in.
 *
 * CompleteLifecycleAction and RecordLifecycleActionHeartbeat are mocked because the AWS emulator we use
 * (moto) does not implement them; SendMessage is mocked too so the tests can replay the delays, and
 * DescribeInstances so they can set launch times.
 */
import {
  AutoScalingClient,
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client, type DescribeInstancesCommandInput } from '@aws-sdk/client-ec2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describeInstanceFacts } from '../../lambda/aws/instance-facts';
import { createLifecycleActions } from '../../lambda/aws/lifecycle';
import { parseWorkerMetadata } from '../../lambda/core/metadata';
import type { DrainResult, WorkerPoolApi } from '../../lambda/core/ports';
import { REGISTERED_TAG_KEY } from '../../lambda/core/registration-tag';
import type { PoolSnapshot, Worker } from '../../lambda/core/types';
import { createHandler, type DrainMetrics } from '../../lambda/drain/handler';
import type { RecheckMessage } from '../../lambda/drain/messages';
import { createRequeue } from '../../lambda/drain/requeue';
import { globalTimeout, type DrainSchedule } from '../../lambda/drain/schedule';
import { SpaceliftApiError } from '../../lambda/spacelift/errors';
import { RecordingLogger } from '../support/recording-logger';
import { ASG, INSTANCE, QUEUE_URL, sqsEvent, sqsRecord, T0, TOKEN } from './builders';

export const autoScalingMock = mockClient(AutoScalingClient);
export const sqsMock = mockClient(SQSClient);
export const ec2Mock = mockClient(EC2Client);

/** The drain function's timeout (lib/worker-drain.ts). */
export const FUNCTION_TIMEOUT_MS = 60_000;
/** `spaceliftCallMs` of the harness: what lambda/drain/index.ts gives. */
export const SPACELIFT_CALL_MS = 25_000;
/** When the harness's instance launched: before every fake worker was created, unless a test says otherwise. */
export const LAUNCHED_AT = T0 - 7200;

export class FakeClock {
  now = T0;
  advance(seconds: number): void {
    this.now += seconds;
  }
}

interface FakeWorker {
  id: string;
  busy: boolean;
  drained: boolean;
  metadata: string | null;
  createdAt: number;
}

/** In-memory Spacelift pool. `down` makes every call fail like a 5xx after the client's retries. */
export class FakeWorkerPool implements WorkerPoolApi {
  readonly calls: string[] = [];
  down: Error | undefined;
  /** Seconds each API call takes on the fake clock. */
  latency = 0;
  /** The next N snapshots list no workers at all (a bad read). */
  emptySnapshots = 0;
  /** Workers the list omits (a partial read); Spacelift's busyWorkers count still counts them. */
  readonly hidden = new Set<string>();
  private readonly workers = new Map<string, FakeWorker>();

  constructor(private readonly clock: FakeClock) {}

  remove(id: string): void {
    this.workers.delete(id);
  }

  add(id: string, opts: { instanceId?: string; busy?: boolean; metadata?: string | null; createdAt?: number } = {}): this {
    const metadata =
      opts.metadata !== undefined
        ? opts.metadata
        : JSON.stringify({ asg_id: ASG, instance_id: opts.instanceId ?? INSTANCE });
    this.workers.set(id, { id, busy: opts.busy ?? false, drained: false, metadata, createdAt: opts.createdAt ?? T0 - 3600 });
    return this;
  }

  setBusy(id: string, busy: boolean): void {
    this.get(id).busy = busy;
  }

  isDrained(id: string): boolean {
    return this.get(id).drained;
  }

  async snapshot(): Promise<PoolSnapshot> {
    this.call('snapshot');
    if (this.emptySnapshots > 0) {
      this.emptySnapshots--;
      return { pendingRuns: 0, workers: [] };
    }
    const all = [...this.workers.values()];
    return {
      pendingRuns: 0,
      busyWorkers: all.filter((w) => w.busy).length,
      workers: all.filter((w) => !this.hidden.has(w.id)).map(toWorker),
    };
  }

  async drain(workerId: string): Promise<DrainResult> {
    this.call(`drain ${workerId}`);
    const worker = this.workers.get(workerId);
    if (!worker) {
      // What the client makes of the API's answer for a worker the pool does not have.
      throw new SpaceliftApiError('graphql', 'Spacelift WorkerDrainSet failed: could not set worker drain to true: not found', {
        retryable: false,
        operation: 'WorkerDrainSet',
        attempts: 1,
        graphqlMessages: ['could not set worker drain to true: not found'],
      });
    }
    worker.drained = true;
    return { worker: toWorker(worker) };
  }

  async undrain(workerId: string): Promise<DrainResult> {
    this.call(`undrain ${workerId}`);
    const worker = this.get(workerId);
    worker.drained = false;
    return { worker: toWorker(worker) };
  }

  private call(name: string): void {
    this.calls.push(name);
    this.clock.advance(this.latency);
    if (this.down) throw this.down;
  }

  private get(id: string): FakeWorker {
    const worker = this.workers.get(id);
    if (!worker) throw new Error(`worker ${id} not found`);
    return worker;
  }
}

function toWorker(w: FakeWorker): Worker {
  const metadata = parseWorkerMetadata(w.metadata);
  return { id: w.id, busy: w.busy, drained: w.drained, createdAt: w.createdAt, metadata };
}

export function noActiveAction(detail = `token ${TOKEN}`): AutoScalingServiceException {
  return new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `No active Lifecycle Action found with ${detail}`,
  });
}

/**
 * One lifecycle action as AWS keeps it: it expires when more than `heartbeatTimeout` passes without a
 * heartbeat, or at the global timeout; calls on an ended action get the "No active Lifecycle Action" error.
 */
export class HookModel {
  readonly heartbeats: number[] = [];
  readonly completions: number[] = [];
  /** Calls that found the action already ended. */
  rejected = 0;
  private lastBeat: number;
  private state: 'active' | 'completed' | 'expired' = 'active';

  constructor(
    private readonly clock: FakeClock,
    readonly heartbeatTimeout: number,
    readonly startedAt = clock.now,
  ) {
    this.lastBeat = startedAt;
  }

  get status(): 'active' | 'completed' | 'expired' {
    if (this.state === 'active') {
      const now = this.clock.now;
      if (now - this.lastBeat > this.heartbeatTimeout || now - this.startedAt > globalTimeout(this.heartbeatTimeout)) {
        this.state = 'expired';
      }
    }
    return this.state;
  }

  heartbeat(): void {
    this.requireActive();
    this.lastBeat = this.clock.now;
    this.heartbeats.push(this.clock.now);
  }

  complete(): void {
    this.requireActive();
    this.state = 'completed';
    this.completions.push(this.clock.now);
  }

  private requireActive(): void {
    if (this.status !== 'active') {
      this.rejected++;
      throw noActiveAction();
    }
  }
}

export { type LogEntry, RecordingLogger } from '../support/recording-logger';

export class RecordingMetrics implements DrainMetrics {
  readonly totals = new Map<string, number>();
  /** The dimensions of each publish; like Powertools, publishing clears them. */
  readonly publishedDimensions: Record<string, string>[] = [];
  private dimensions: Record<string, string> = {};
  published = 0;
  addDimension(name: string, value: string): void {
    this.dimensions[name] = value;
  }
  addMetric(name: string, _unit: string, value: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }
  publishStoredMetrics(): void {
    this.published++;
    this.publishedDimensions.push(this.dimensions);
    this.dimensions = {};
  }
  count(name: string): number {
    return this.totals.get(name) ?? 0;
  }
}

export const SCHEDULE: DrainSchedule = { heartbeatTimeout: 300, recheckInterval: 60, drainTimeout: 4800 };

/** A sent re-check as the queue holds it. */
export interface Sent {
  readonly body: RecheckMessage;
  readonly delaySeconds: number;
  readonly sentAt: number;
}

/**
 * Wires `createHandler` with the real AWS adapters over mocked clients, a fake pool and one hook model.
 */
export function harness(schedule: DrainSchedule = SCHEDULE) {
  autoScalingMock.reset();
  sqsMock.reset();
  ec2Mock.reset();
  const clock = new FakeClock();
  const pool = new FakeWorkerPool(clock);
  const hook = new HookModel(clock, schedule.heartbeatTimeout);
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const sent: Sent[] = [];
  const sleeps: number[] = [];
  /** `onSleep` runs during the handler's pause before a confirming read, e.g. to change the pool. */
  const hooks: { onSleep?: () => void | Promise<void> } = {};
  /** EC2's launch times (epoch seconds); DescribeInstances omits the instances not in it, like a filter does. */
  const launchTimes = new Map<string, number>([[INSTANCE, LAUNCHED_AT]]);
  /** Instances carrying the autoscaler's registration tag (they had a worker). */
  const registered = new Set<string>();

  autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => {
    hook.heartbeat();
    return {};
  });
  autoScalingMock.on(CompleteLifecycleActionCommand).callsFake(() => {
    hook.complete();
    return {};
  });
  sqsMock.on(SendMessageCommand).callsFake((input: { MessageBody: string; DelaySeconds: number }) => {
    sent.push({ body: JSON.parse(input.MessageBody), delaySeconds: input.DelaySeconds, sentAt: clock.now });
    return { MessageId: `sent-${sent.length}` };
  });
  ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    const ids = input.Filters?.find((f) => f.Name === 'instance-id')?.Values ?? [];
    const known = ids.filter((id) => launchTimes.has(id));
    return { Reservations: [{ Instances: known.map((id) => ({
      InstanceId: id,
      LaunchTime: new Date(launchTimes.get(id)! * 1000),
      Tags: registered.has(id) ? [{ Key: REGISTERED_TAG_KEY, Value: 'true' }] : [],
    })) }] };
  });

  const drainHandler = createHandler({
    workerPool: pool,
    instanceFacts: (ids) => describeInstanceFacts(new EC2Client({ region: 'us-east-1' }), ids),
    lifecycle: createLifecycleActions(new AutoScalingClient({ region: 'us-east-1' })),
    requeue: createRequeue(new SQSClient({ region: 'us-east-1' }), QUEUE_URL),
    config: schedule,
    asgName: ASG,
    logger,
    metrics,
    clock: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms / 1000);
      await hooks.onSleep?.();
    },
    spaceliftCallMs: SPACELIFT_CALL_MS,
  });

  /** Every invocation gets FUNCTION_TIMEOUT_MS, counted on the fake clock. */
  const handler = (event: SQSEvent): Promise<SQSBatchResponse> => {
    const deadlineMs = clock.now * 1000 + FUNCTION_TIMEOUT_MS;
    const context: Partial<Context> = { getRemainingTimeInMillis: () => deadlineMs - clock.now * 1000 };
    return drainHandler(event, context as Context);
  };

  const deliver = (...bodies: (string | object)[]): Promise<SQSBatchResponse> =>
    handler(sqsEvent(...bodies.map((b) => sqsRecord(b))));

  /**
   * Plays the queue: delivers the earliest pending re-check once its delay has passed (plus `latency` for SQS
   * and the event source mapping), until nothing is pending. `beforeDelivery` can change the world first.
   */
  async function runQueue(
    opts: { latency?: number; maxDeliveries?: number; beforeDelivery?: (now: number) => void } = {},
  ): Promise<number> {
    let delivered = 0;
    let next = 0;
    const pending: { body: RecheckMessage; dueAt: number }[] = [];
    for (;;) {
      for (; next < sent.length; next++) {
        pending.push({ body: sent[next].body, dueAt: sent[next].sentAt + sent[next].delaySeconds });
      }
      if (pending.length === 0) return delivered;
      if (delivered >= (opts.maxDeliveries ?? 1000)) throw new Error('re-check chain did not end');
      pending.sort((a, b) => a.dueAt - b.dueAt);
      const { body, dueAt } = pending.shift()!;
      clock.now = Math.max(clock.now, dueAt + (opts.latency ?? 0));
      opts.beforeDelivery?.(clock.now);
      const response = await deliver(body);
      expect(response.batchItemFailures).toEqual([]);
      delivered++;
    }
  }

  return { handler, deliver, runQueue, clock, pool, hook, logger, metrics, sent, sleeps, hooks, launchTimes, registered };
}
