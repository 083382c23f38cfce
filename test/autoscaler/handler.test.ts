/**
 * The autoscaler handler end to end: the real Spacelift client against the fake Spacelift GraphQL server, and
 * the real fleet adapter over aws-sdk-client-mock (a model of one ASG). Time is the harness's manual clock; the
 * handler's sleep advances it, so a whole invocation runs without waiting.
 */
import 'aws-sdk-client-mock-jest';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { loadAutoscalerConfig } from '../../lambda/autoscaler/config';
import { AutoscalerMetric, createHandler } from '../../lambda/autoscaler/handler';
import { createAsgFleet } from '../../lambda/aws/fleet';
import { REGISTERED_TAG_KEY } from '../../lambda/core/registration';
import type { SpaceliftApiOptions } from '../../lambda/spacelift';
import { Harness } from '../spacelift/harness';
import type { Fault, FakeSpacelift } from '../support/fake-spacelift';
import { AsgModel, autoScalingMock, ec2Mock } from './asg-model';
import { RecordingLogger, RecordingMetrics } from './fakes';

const ASG = 'workers-asg';
const harness = new Harness();
afterEach(() => harness.closeAll());

const nowSeconds = () => Math.floor(harness.now / 1000);
const iid = (n: number) => `i-${n.toString(16).padStart(8, '0')}`;

interface Setup {
  readonly env?: Record<string, string>;
  readonly client?: Partial<SpaceliftApiOptions>;
  readonly group?: { min?: number; max?: number; desired?: number };
}

async function setup(options: Setup = {}) {
  const fake = await harness.fake({ asgName: ASG });
  const { api } = harness.client(fake, options.client);
  const { min = 0, max = 2000, desired = 0 } = options.group ?? {};
  const asg = new AsgModel(ASG, min, max, desired);
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const config = loadAutoscalerConfig({
    SPACELIFT_API_ENDPOINT: fake.endpoint,
    SPACELIFT_API_KEY_ID: fake.apiKeyId,
    SPACELIFT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-AbCdEf',
    SPACELIFT_WORKER_POOL_ID: fake.workerPoolId,
    ASG_NAME: ASG,
    // One tick per invocation unless a test asks for the loop.
    LOOP_SECONDS: '0',
    SCALE_DOWN_DELAY: 'fixed:300',
    // Every metric, so that the tests can read the gauges (the default sends only what the alarms read).
    METRICS: 'all',
    ...options.env,
  });
  const sleeps: number[] = [];
  const hooks = { betweenTicks: () => {} };
  const build = () => createHandler({
    workerPool: api,
    fleet: createAsgFleet(new AutoScalingClient({ region: 'us-east-1' }), new EC2Client({ region: 'us-east-1' }), ASG),
    config,
    logger,
    metrics,
    clock: () => harness.now / 1000,
    sleep: async (ms) => {
      hooks.betweenTicks();
      sleeps.push(ms);
      harness.advance(ms);
    },
  });
  let handler = build();
  const invoke = () => handler({}, { getRemainingTimeInMillis: () => 120_000 });
  /** A new Lambda container: nothing remembered from earlier invocations. */
  const coldStart = () => {
    handler = build();
  };
  return { fake, asg, logger, metrics, invoke, coldStart, sleeps, hooks };
}

/** An InService instance and an idle worker on it, idle for an hour. */
function idlePair(fake: FakeSpacelift, asg: AsgModel, n: number, fields: { busy?: boolean } = {}) {
  asg.add({ id: iid(n), lifecycleState: 'InService', launchTime: nowSeconds() - 7200 });
  return fake.addWorker({ id: `w${n}`, instanceId: iid(n), createdAt: nowSeconds() - 3600, ...fields });
}

/** No worker may stay drained unless its instance is on its way out. */
function expectNothingLeftDrained(fake: FakeSpacelift, asg: AsgModel): void {
  const stuck = fake.workers().filter((w) => {
    const instanceId = (JSON.parse(w.metadata) as { instance_id: string }).instance_id;
    return w.drained && asg.state(instanceId) === 'InService';
  });
  expect(stuck.map((w) => w.id)).toEqual([]);
}

function drainCalls(fake: FakeSpacelift): { id: unknown; drain: unknown }[] {
  return fake.operations().filter((op) => op.fields.includes('workerDrainSet')).map((op) => ({ id: op.variables.id, drain: op.variables.drain }));
}

describe('licence metric', () => {
  test('PoolWorkers counts every worker Spacelift lists for the pool: drained, of another group, unreadable, on a terminating instance', async () => {
    const { fake, asg, invoke, metrics } = await setup({ group: { desired: 2 } });
    idlePair(fake, asg, 1, { busy: true });
    idlePair(fake, asg, 2);
    fake.addWorker({ id: 'w3', instanceId: iid(3), drained: true });
    asg.add({ id: iid(3), lifecycleState: 'InService', launchTime: nowSeconds() - 7200 });
    fake.addWorker({ id: 'w4', instanceId: iid(4), busy: true });
    asg.add({ id: iid(4), lifecycleState: 'Terminating:Wait', launchTime: nowSeconds() - 7200 });
    fake.addWorker({ id: 'w5', asgName: 'another-group' });
    fake.addWorker({ id: 'w6', metadata: 'not json' });

    await invoke();
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.PoolWorkers]: 6, [AutoscalerMetric.RegisteredWorkers]: 2 });
    expect(metrics.published.at(-1)?.dimensions).toEqual({ AutoScalingGroupName: ASG });
  });
});

describe('scale out', () => {
  test('5 queued runs, no instances: one tick sets desired to 5; the next, with 5 Pending instances, adds nothing', async () => {
    const { fake, asg, invoke, metrics } = await setup();
    fake.setPendingRuns(5);

    await invoke();
    expect(autoScalingMock).toHaveReceivedCommandTimes(SetDesiredCapacityCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(SetDesiredCapacityCommand, {
      AutoScalingGroupName: ASG,
      DesiredCapacity: 5,
      HonorCooldown: false,
    });
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.PendingRuns]: 5, [AutoscalerMetric.ScaledOut]: 5 });

    for (let n = 1; n <= 5; n++) asg.add({ id: iid(n), lifecycleState: 'Pending', launchTime: nowSeconds() });
    harness.advance(15_000);
    await invoke();
    expect(autoScalingMock).toHaveReceivedCommandTimes(SetDesiredCapacityCommand, 1);
    // Instances without workers: their launch times are read, and they count as launching.
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.LaunchingInstances]: 5, [AutoscalerMetric.ScaledOut]: 0 });
  });

  test('a whole invocation of four ticks before the ASG launches anything raises desired once', async () => {
    const { fake, asg, invoke, sleeps } = await setup({ env: { LOOP_SECONDS: '50', POLL_WHEN: 'always' } });
    fake.setPendingRuns(3);
    const summary = await invoke();
    expect(summary).toEqual({ ticks: 4, failedTicks: 0, errors: 0 });
    expect(sleeps).toEqual([15_000, 15_000, 15_000]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(SetDesiredCapacityCommand, 1);
    expect(asg.desiredCapacity).toBe(3);
  });
});

describe('scale in', () => {
  test('idle workers past the delay: drained and terminated with decrement, never by lowering desired capacity', async () => {
    const { fake, asg, invoke, metrics } = await setup({ env: { MAX_TERMINATE_PER_TICK: '3' }, group: { desired: 3 } });
    for (let n = 1; n <= 3; n++) idlePair(fake, asg, n);

    await invoke();
    expect(autoScalingMock).not.toHaveReceivedCommand(SetDesiredCapacityCommand);
    expect(autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 3);
    for (let n = 1; n <= 3; n++) {
      expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
        InstanceId: iid(n),
        ShouldDecrementDesiredCapacity: true,
      });
      expect(fake.isDrained(`w${n}`)).toBe(true);
    }
    expect(asg.desiredCapacity).toBe(0);
    expect(drainCalls(fake)).toEqual([1, 2, 3].map((n) => ({ id: `w${n}`, drain: true })));
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.Terminated]: 3, [AutoscalerMetric.Errors]: 0 });
    expectNothingLeftDrained(fake, asg);
  });

  test('a busy worker is never chosen', async () => {
    const { fake, asg, invoke } = await setup({ env: { MAX_TERMINATE_PER_TICK: '5' }, group: { desired: 3 } });
    idlePair(fake, asg, 1, { busy: true });
    idlePair(fake, asg, 2);
    idlePair(fake, asg, 3, { busy: true });

    await invoke();
    expect(drainCalls(fake)).toEqual([{ id: 'w2', drain: true }]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, { InstanceId: iid(2) });
  });

  test('a worker that takes a run between the snapshot and the drain is undrained and kept', async () => {
    let fake: FakeSpacelift | undefined;
    const { asg, invoke, metrics, ...rest } = await setup({
      group: { desired: 1 },
      client: {
        // The run lands right after the snapshot was served.
        fetchImpl: async (input, init) => {
          const response = await fetch(input, init);
          if (String(init?.body).includes('WorkerPoolSnapshot')) fake!.setBusy('w1', true);
          return response;
        },
      },
    });
    fake = rest.fake;
    idlePair(fake, asg, 1);

    await invoke();
    expect(drainCalls(fake)).toEqual([{ id: 'w1', drain: true }, { id: 'w1', drain: false }]);
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(fake.isDrained('w1')).toBe(false);
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.DrainSkippedBusy]: 1, [AutoscalerMetric.Terminated]: 0 });
  });

  test('min size raised since the plan: terminated without decrement, and the log says why', async () => {
    // One termination per tick, so the one termination shows the retry without decrement.
    const { fake, asg, invoke, logger } = await setup({ env: { MAX_TERMINATE_PER_TICK: '1' }, group: { desired: 2 } });
    idlePair(fake, asg, 1);
    idlePair(fake, asg, 2);
    // The ASG is described with min 0; min is raised before the termination.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).callsFakeOnce(() => {
      const instances = asg.instances.map((i) => ({ InstanceId: i.id, LifecycleState: i.lifecycleState, ProtectedFromScaleIn: false }));
      const described = { AutoScalingGroups: [{ AutoScalingGroupName: ASG, MinSize: 0, MaxSize: 10, DesiredCapacity: 2, Instances: instances }] };
      asg.minSize = 2;
      return described;
    });

    await invoke();
    expect(autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 2);
    expect(autoScalingMock).toHaveReceivedNthSpecificCommandWith(2, TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: iid(1),
      ShouldDecrementDesiredCapacity: false,
    });
    expect(logger.messages('warn')).toContain(
      'group is at min size, so AWS refused to decrement; terminating without decrement (the ASG replaces it)',
    );
    expect(asg.desiredCapacity).toBe(2);
  });
});

describe('instances left drained', () => {
  /** A worker someone drained (e.g. an undrain that failed in a container that has since gone cold). */
  function leftDrained(fake: FakeSpacelift, asg: AsgModel, idleFor: number) {
    asg.add({ id: iid(1), lifecycleState: 'InService', launchTime: nowSeconds() - 7200 });
    fake.addWorker({ id: 'w1', instanceId: iid(1), createdAt: nowSeconds() - 7000, availableAt: nowSeconds() - idleFor, drained: true });
  }

  test('a fresh container reclaims, from the snapshots alone, an instance whose worker is drained and idle for 15 minutes', async () => {
    const { fake, asg, invoke, metrics, logger } = await setup({ group: { desired: 2 } });
    leftDrained(fake, asg, 900);
    idlePair(fake, asg, 2, { busy: true });

    await invoke();
    expect(drainCalls(fake)).toEqual([{ id: 'w1', drain: true }]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: iid(1),
      ShouldDecrementDesiredCapacity: true,
    });
    expect(autoScalingMock).not.toHaveReceivedCommand(SetDesiredCapacityCommand);
    expect(asg.desiredCapacity).toBe(1);
    expect(metrics.last()).toMatchObject({
      [AutoscalerMetric.DrainedInstances]: 1,
      [AutoscalerMetric.DrainedReclaimed]: 1,
      [AutoscalerMetric.Terminated]: 0,
      [AutoscalerMetric.Errors]: 0,
    });
    expect(logger.messages('warn')).toContain('reclaimed an instance whose workers were left drained and idle');
    expectNothingLeftDrained(fake, asg);
  });

  test.each([
    ['idle for less than DRAINED_RECLAIM_SECONDS', {}, 899],
    ['DRAINED_RECLAIM_SECONDS=0', { DRAINED_RECLAIM_SECONDS: '0' }, 7000],
    ['MAX_STRAYS_PER_TICK=0 (no repairs)', { MAX_STRAYS_PER_TICK: '0' }, 7000],
  ])('left alone when %s', async (_name, env: Record<string, string>, idleFor) => {
    const { fake, asg, invoke, metrics } = await setup({ env, group: { desired: 1 } });
    leftDrained(fake, asg, idleFor);
    await invoke();
    expect(drainCalls(fake)).toEqual([]);
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.DrainedInstances]: 1, [AutoscalerMetric.DrainedReclaimed]: 0 });
  });

  test('at min size the instance is replaced: terminated without decrement', async () => {
    const { fake, asg, invoke } = await setup({ group: { min: 1, desired: 1 } });
    leftDrained(fake, asg, 3600);
    await invoke();
    expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: iid(1),
      ShouldDecrementDesiredCapacity: false,
    });
    expect(asg.desiredCapacity).toBe(1);
  });
});

describe('strays', () => {
  test('an instance without a worker after the grace period is terminated without decrement, once the container has watched that long', async () => {
    const { fake, asg, invoke, metrics } = await setup({ group: { desired: 2 } });
    idlePair(fake, asg, 1, { busy: true });
    asg.add({ id: iid(2), lifecycleState: 'InService', launchTime: nowSeconds() - 900 });

    // A fresh container has not watched for a whole grace (600 s): the stray waits.
    await invoke();
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.StrayInstances]: 1, [AutoscalerMetric.StraysReaped]: 0 });

    harness.advance(600_000);
    fake.clearOperations();
    await invoke();
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: [iid(2)] }] });
    expect(autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: iid(2),
      ShouldDecrementDesiredCapacity: false,
    });
    expect(fake.count('workerPool')).toBe(2);
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.StraysReaped]: 1 });
  });

  test('a launcher that registers (and takes a run) between the snapshot and the kill saves its instance', async () => {
    let fake: FakeSpacelift | undefined;
    let snapshots = 0;
    const { asg, invoke, logger, ...rest } = await setup({
      group: { desired: 1 },
      env: { REGISTRATION_GRACE_SECONDS: '0' },
      client: {
        fetchImpl: async (input, init) => {
          const response = await fetch(input, init);
          if (String(init?.body).includes('WorkerPoolSnapshot') && ++snapshots === 1) {
            fake!.addWorker({ id: 'late', instanceId: iid(1), busy: true });
          }
          return response;
        },
      },
    });
    fake = rest.fake;
    asg.add({ id: iid(1), lifecycleState: 'InService', launchTime: nowSeconds() - 900 });

    await invoke();
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(logger.messages('info')).toContain('stray registered a worker since the plan; not terminating it');
  });
});

describe('an empty or partial worker list is not the truth', () => {
  test('the list goes empty while the instances are live and busy: nothing is reaped, in this container or a fresh one', async () => {
    const { fake, asg, invoke, coldStart, logger, metrics } = await setup({ group: { desired: 2 }, env: { MAX_STRAYS_PER_TICK: '2' } });
    idlePair(fake, asg, 1, { busy: true });
    idlePair(fake, asg, 2, { busy: true });
    await invoke();
    // The first sight of each worker tags its instance.
    expect(asg.instances.map((i) => i.tags?.[REGISTERED_TAG_KEY])).toEqual(['true', 'true']);

    // Spacelift now lists no workers (a glitch); the runs go on.
    fake.removeWorker('w1');
    fake.removeWorker('w2');
    for (const fresh of [false, true]) {
      if (fresh) coldStart();
      harness.advance(60_000);
      await invoke();
      expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
      expect(metrics.last()).toMatchObject({
        [AutoscalerMetric.FailedReads]: 1, [AutoscalerMetric.LostWorkerInstances]: 2, [AutoscalerMetric.StraysReaped]: 0,
      });
    }
    expect(logger.messages('warn')).toContain('the pool snapshot looks wrong; nothing is removed this tick');
  });

  test('a partial list in a fresh container: the instance whose worker is missing is kept (the tag remembers it)', async () => {
    const { fake, asg, invoke, coldStart, metrics } = await setup({ group: { desired: 2 } });
    idlePair(fake, asg, 1, { busy: true });
    idlePair(fake, asg, 2, { busy: true });
    await invoke();
    fake.removeWorker('w1');
    coldStart();
    harness.advance(60_000);
    await invoke();
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(metrics.last()).toMatchObject({
      [AutoscalerMetric.FailedReads]: 0, [AutoscalerMetric.LostWorkerInstances]: 1, [AutoscalerMetric.StrayInstances]: 0,
    });
  });

  test('a tag write that fails is retried next tick; meanwhile this container remembers the instance', async () => {
    const { fake, asg, invoke, metrics } = await setup({ group: { desired: 1 } });
    idlePair(fake, asg, 1, { busy: true });
    asg.tagFailures = 1;
    await invoke();
    expect(metrics.last()).toMatchObject({ [AutoscalerMetric.Errors]: 1 });
    expect(asg.instances[0].tags).toBeUndefined();

    fake.removeWorker('w1');
    harness.advance(60_000);
    await invoke();
    expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
    expect(asg.instances[0].tags?.[REGISTERED_TAG_KEY]).toBe('true');
  });
});

describe('Spacelift faults end in a bounded, logged outcome and leave nothing drained', () => {
  const client = { timeoutMs: 50, maxAttempts: 3 };
  const faults: [string, Fault, number][] = [
    ['HTTP 502 on every attempt', { kind: 'http', status: 502 }, 20],
    ['HTTP 429 on every attempt', { kind: 'http', status: 429, retryAfter: 1 }, 20],
    ['a malformed body on every attempt', { kind: 'malformed' }, 20],
    ['a GraphQL error', { kind: 'graphqlError', message: 'internal server error' }, 1],
    ['an expired JWT (GraphQL unauthorized)', { kind: 'unauthorized', via: 'graphql' }, 1],
    ['an expired JWT (HTTP 401)', { kind: 'unauthorized', via: 'http' }, 1],
    ['a server slower than the timeout', { kind: 'delay', ms: 100 }, 3],
  ];

  async function scenario() {
    const s = await setup({ client, group: { desired: 2 } });
    idlePair(s.fake, s.asg, 1);
    idlePair(s.fake, s.asg, 2, { busy: true });
    // Warm the JWT cache, so an "expired JWT" fault hits a real token.
    await s.invoke();
    s.asg.desiredCapacity = 2;
    s.asg.instances.forEach((i) => (i.lifecycleState = 'InService'));
    for (const w of s.fake.workers()) if (w.drained) await undrainDirectly(s.fake, w.id);
    s.fake.clearOperations();
    autoScalingMock.resetHistory();
    return s;
  }

  /** Resets a worker through the fake's own API, outside the code under test. */
  async function undrainDirectly(fake: FakeSpacelift, id: string) {
    const { api } = harness.client(fake);
    await api.undrain(id);
  }

  /**
   * Lets requests the client gave up on reach the fake (a delayed request still changes state when it is
   * answered, well within 500 ms), then runs two more ticks: one to settle pending undrains, one to confirm.
   */
  async function settle(s: Awaited<ReturnType<typeof scenario>>, fault: Fault) {
    if (fault.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, 500));
    harness.advance(15_000);
    await s.invoke();
    await s.invoke();
  }

  test.each(faults)('%s on the pool snapshot: the tick fails and changes nothing, or recovers', async (_name, fault, times) => {
    const s = await scenario();
    s.fake.injectFault(fault, { match: 'workerPool', times });
    const summary = await s.invoke();
    // An expired JWT is re-exchanged once and the call succeeds; everything else exhausts the client's attempts.
    const recovered = fault.kind === 'unauthorized';
    expect(summary).toEqual(recovered ? { ticks: 1, failedTicks: 0, errors: 0 } : { ticks: 1, failedTicks: 1, errors: 1 });
    if (!recovered) {
      expect(autoScalingMock).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
      expect(drainCalls(s.fake)).toEqual([]);
      expect(s.logger.messages('error')).toEqual(['tick failed; the next tick starts again from fresh snapshots']);
      expect(s.metrics.lastSent()).toEqual({ [AutoscalerMetric.Errors]: 1 });
    }
    expect(s.fake.count('workerPool')).toBeLessThanOrEqual(2 * client.maxAttempts);
    await settle(s, fault);
    expectNothingLeftDrained(s.fake, s.asg);
  });

  test.each(faults)('%s on the drain: the worker is kept or terminated, never left drained', async (_name, fault, times) => {
    const s = await scenario();
    s.fake.injectFault(fault, { match: 'workerDrainSet', times });
    await expect(s.invoke()).resolves.toMatchObject({ ticks: 1, failedTicks: 0 });
    const terminated = s.asg.state(iid(1)) !== 'InService';
    if (!terminated) expect(s.logger.at('error').length).toBeGreaterThan(0);
    // Bounded: the drain and at most one undrain, each with the client's attempts (plus one re-authentication).
    expect(s.fake.count('workerDrainSet')).toBeLessThanOrEqual(2 * client.maxAttempts + 1);
    // The busy worker is never touched.
    expect(drainCalls(s.fake).filter((c) => c.id === 'w2')).toEqual([]);
    await settle(s, fault);
    expectNothingLeftDrained(s.fake, s.asg);
    expect(s.fake.isDrained('w2')).toBe(false);
  });

  test('a drain Spacelift applies after the client gave up, and after our undrain, is undone on the next tick', async () => {
    const s = await scenario();
    // Every drain attempt is answered late but still applied; the undrain then goes through at once.
    s.fake.injectFault({ kind: 'delay', ms: 150 }, { match: 'workerDrainSet', times: client.maxAttempts });
    await s.invoke();
    expect(s.asg.state(iid(1))).toBe('InService');
    expect(drainCalls(s.fake).at(-1)).toEqual({ id: 'w1', drain: false });
    for (let waited = 0; waited < 40 && !s.fake.isDrained('w1'); waited++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(s.fake.isDrained('w1')).toBe(true);

    harness.advance(15_000);
    await s.invoke();
    expect(s.fake.isDrained('w1')).toBe(false);
    expect(s.logger.at('info')).toContainEqual(expect.objectContaining({
      message: 'undrained worker',
      attributes: expect.objectContaining({ workerId: 'w1', why: expect.stringContaining('late drain') }),
    }));
  });
});

describe('call budget', () => {
  test('1000 registered workers, steady state: one AWS call and one Spacelift call per tick; the JWT is exchanged once, the tags written once', async () => {
    const { fake, asg, invoke, hooks, metrics } = await setup({ env: { LOOP_SECONDS: '50', POLL_WHEN: 'always' }, group: { desired: 1000 } });
    for (let n = 1; n <= 1000; n++) {
      asg.add({ id: iid(n), lifecycleState: 'InService', launchTime: nowSeconds() - 7200 });
      // Busy, or idle for less than the delay: nothing to do.
      fake.addWorker({ id: `w${n}`, instanceId: iid(n), busy: n % 3 !== 0, createdAt: nowSeconds() - 3600, availableAt: nowSeconds() - 10 });
    }
    const awsCalls: number[] = [];
    const spaceliftCalls: number[] = [];
    const sample = () => {
      awsCalls.push(AsgModel.calls());
      spaceliftCalls.push(fake.operations().length);
    };
    hooks.betweenTicks = sample;

    await invoke();
    sample();
    const perTick = (totals: number[]) => totals.map((total, i) => total - (totals[i - 1] ?? 0));
    // The first tick also tags the 1000 instances as registered, 200 per CreateTags call.
    expect(perTick(awsCalls)).toEqual([1 + 5, 1, 1, 1]);
    expect(perTick(spaceliftCalls)).toEqual([2, 1, 1, 1]);
    expect(fake.count('apiKeyUser')).toBe(1);
    expect(metrics.published).toHaveLength(4);
    expect(metrics.last()).toMatchObject({
      [AutoscalerMetric.RegisteredWorkers]: 1000, [AutoscalerMetric.ScaledOut]: 0, [AutoscalerMetric.Terminated]: 0,
    });

    // A warm invocation reuses the token.
    await invoke();
    expect(fake.count('apiKeyUser')).toBe(1);
    expect(autoScalingMock.calls().length + ec2Mock.calls().length).toBe(8 + 5);
  });
});

describe('reporting', () => {
  test('metrics carry the ASG dimension, and invalid workers are logged once per tick in one line', async () => {
    const { fake, asg, invoke, logger, metrics } = await setup({ env: { LOOP_SECONDS: '50', POLL_WHEN: 'always' }, group: { desired: 1 } });
    idlePair(fake, asg, 1, { busy: true });
    fake.addWorker({ id: 'bad1', metadata: 'not json' });
    fake.addWorker({ id: 'bad2', metadata: '{"asg_id":"workers-asg"}', busy: true });

    await invoke();
    expect(metrics.published.map((b) => b.dimensions)).toEqual(Array(4).fill({ AutoScalingGroupName: ASG }));
    expect(metrics.last()).toMatchObject({
      [AutoscalerMetric.InvalidWorkers]: 2,
      [AutoscalerMetric.BusyWorkers]: 1,
      [AutoscalerMetric.RegisteredWorkers]: 1,
      [AutoscalerMetric.DesiredCapacity]: 1,
    });
    const lines = logger.at('warn').filter((e) => e.message.startsWith('workers with invalid metadata'));
    expect(lines).toHaveLength(4);
    expect(lines[0].attributes.invalidWorkers).toEqual([
      { workerId: 'bad1', reason: 'metadata is not JSON' },
      { workerId: 'bad2', reason: 'metadata has no valid instance_id' },
    ]);
    expect(logger.at('info').filter((e) => e.message === 'scaling plan')).toHaveLength(4);
  });
});
