/**
 * The pool's control loop end to end, without AWS: the stack is deployed into moto (see
 * deploy.test.ts), and the **bundled** handlers (assets/autoscaler, assets/drain) run in-process with
 * the environment moto's CloudFormation gave the two functions. They talk to moto for AWS and to the
 * fake Spacelift API for Spacelift; a small driver plays Spacelift and the launchers.
 *
 * What the test does in place of AWS, and why:
 * - Invocation: moto cannot run Lambda functions (it needs Docker), so the test calls each handler
 *   with a Lambda context stub, one autoscaler tick per call (LOOP_SECONDS=0), and plays the drain
 *   function's SQS event source (receive from the deployed queue, invoke, delete what succeeded).
 * - Lifecycle hook: moto creates none, sends no notification and has no lifecycle actions, so the
 *   test sends the notification body the ASG would send to the deployed queue, and LifecycleShim
 *   intercepts only RecordLifecycleActionHeartbeat and CompleteLifecycleAction (aws-sdk-client-mock,
 *   everything else calls through to moto).
 * - Spacelift: the functions' SPACELIFT_API_ENDPOINT is the https URL the construct requires; the
 *   handlers get the fake's http://127.0.0.1 endpoint instead (the client allows http only on loopback).
 *   The API key id and secret are the deployed ones: the secret is read from moto's Secrets Manager.
 * The stack sets a scale-down delay of 0 and a drain re-check interval of 1 s, so nothing waits.
 */
import { randomUUID } from 'node:crypto';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type Instance as AsgInstance,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { FakeSpacelift } from '../support/fake-spacelift';
import { API_KEY_ID, STACK_NAME, WORKER_POOL_ID } from './app/constants';
import { API_KEY_SECRET, deployPoolStack, type Deployment } from './support/deploy';
import { invoke, linesAt, type DeployedFunction, type Invocation, type LogLine } from './support/lambda-runtime';
import { LifecycleShim, type LifecycleAction } from './support/lifecycle-shim';
import { acquireMoto, ACCOUNT, clientConfig, REGION, releaseMoto } from './support/moto';
import { lambdaApi } from './support/moto-apis';
import { SpaceliftDriver } from './support/spacelift-driver';

jest.setTimeout(60_000);

interface InvocationSummary {
  readonly ticks: number;
  readonly failedTicks: number;
  readonly errors: number;
}
type Handler<E, R> = (event: E, context: Context) => Promise<R>;

// The artifacts the package ships, rebuilt from lambda/ by globalSetup.
const autoscaler = require('../../assets/autoscaler/index.js') as { handler: Handler<unknown, InvocationSummary> };
const drain = require('../../assets/drain/index.js') as { handler: Handler<SQSEvent, SQSBatchResponse> };

/** CloudFormation would name the hook like this; moto creates none, so only the shim knows it. */
const HOOK_NAME = `${STACK_NAME}-PoolGroupLifecycleHookDrainHook-INTEG`;

let deployment: Deployment;
let fake: FakeSpacelift;
let driver: SpaceliftDriver;
let shim: LifecycleShim;
let autoscalerFn: DeployedFunction;
let drainFn: DeployedFunction;
let asg: AutoScalingClient;
let ec2: EC2Client;
let sqs: SQSClient;
let queueArn: string;

beforeAll(async () => {
  await acquireMoto('control-loop.test.ts');
  asg = new AutoScalingClient(clientConfig());
  ec2 = new EC2Client(clientConfig());
  sqs = new SQSClient({ ...clientConfig(), useQueueUrlAsEndpoint: false });
  deployment = await deployPoolStack();
  fake = await FakeSpacelift.start({
    apiKeyId: API_KEY_ID,
    apiKeySecret: API_KEY_SECRET,
    workerPoolId: WORKER_POOL_ID,
    asgName: deployment.outputs.asgName,
  });
  driver = new SpaceliftDriver(fake, deployment.outputs.asgName);

  const overrides = { SPACELIFT_API_ENDPOINT: fake.endpoint };
  autoscalerFn = await deployedFunction(deployment.outputs.autoscalerFunctionName, { ...overrides, LOOP_SECONDS: '0' });
  drainFn = await deployedFunction(deployment.outputs.drainFunctionName, overrides);
  queueArn = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deployment.outputs.queueUrl,
    AttributeNames: ['QueueArn'],
  }))).Attributes!.QueueArn!;

  // What AWS does once a termination's lifecycle action completes with CONTINUE: the instance goes.
  shim = new LifecycleShim(
    async (action) => {
      await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: action.instanceId, ShouldDecrementDesiredCapacity: true }));
    },
    (instanceId) => fake.worker(driver.workerOn(instanceId))?.busy,
  );
}, 170_000);

afterAll(async () => {
  shim?.restore();
  await fake?.close();
  for (const client of [asg, ec2, sqs]) client?.destroy();
  deployment?.cleanup();
  await releaseMoto();
});

/** The function as moto's CloudFormation deployed it, with the test's overrides. */
async function deployedFunction(name: string, overrides: Record<string, string>): Promise<DeployedFunction> {
  const config = await lambdaApi.getFunctionConfiguration(name);
  return { name, timeoutSeconds: config.Timeout, environment: { ...config.Environment?.Variables, ...overrides } };
}

// ---- the autoscaler ----------------------------------------------------------------------------

interface Tick {
  readonly logs: readonly LogLine[];
  /** The "scaling plan" line of the tick. */
  readonly plan: { counts?: Record<string, number>; reasons?: string[]; terminate?: Array<{ workerId: string; instanceId: string }> };
}

/** One scheduled invocation of the autoscaler (a single tick). Fails on any error the handler reports. */
async function tick(): Promise<Tick> {
  const event = {
    'version': '0',
    'id': randomUUID(),
    'detail-type': 'Scheduled Event',
    'source': 'aws.events',
    'account': ACCOUNT,
    'time': new Date().toISOString(),
    'region': REGION,
    'resources': [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${STACK_NAME}-schedule`],
    'detail': {},
  };
  const { result, logs } = await invoke(autoscalerFn, autoscaler.handler, event);
  const problems = [...linesAt(logs, 'ERROR'), ...linesAt(logs, 'WARN')];
  if (result.errors > 0 || result.failedTicks > 0 || problems.length > 0) {
    throw new Error(`autoscaler tick reported ${JSON.stringify(result)}:\n${problems.map((l) => JSON.stringify(l)).join('\n')}`);
  }
  expect(result.ticks).toBe(1);
  const plan = logs.find((line) => line.message === 'scaling plan');
  if (plan === undefined) throw new Error('the tick logged no scaling plan');
  return { logs, plan: plan as Tick['plan'] };
}

async function group(): Promise<{ desired: number; instances: AsgInstance[] }> {
  const { AutoScalingGroups = [] } = await asg.send(new DescribeAutoScalingGroupsCommand({
    AutoScalingGroupNames: [deployment.outputs.asgName],
  }));
  return { desired: AutoScalingGroups[0].DesiredCapacity!, instances: AutoScalingGroups[0].Instances ?? [] };
}

async function ec2Instances(ids: readonly string[]): Promise<Map<string, Instance>> {
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
  return new Map(Reservations.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId!, i]));
}

/** The launchers on every instance of the group register, and workers of vanished instances leave. */
async function bootAndSync(): Promise<string[]> {
  const { instances } = await group();
  const live = instances.map((i) => i.InstanceId!);
  driver.deregisterGone(live);
  const details = await ec2Instances(live);
  return driver.registerWorkers(live.map((id) => ({ id, imageId: details.get(id)!.ImageId! })));
}

function drainsOf(workerId: string): boolean[] {
  return fake.operations()
    .filter((op) => op.fields.includes('workerDrainSet') && op.variables.id === workerId)
    .map((op) => op.variables.drain as boolean);
}

// ---- the drain function's event source --------------------------------------------------------

/**
 * What the SQS event source mapping does: waits for messages on the deployed queue (a re-check becomes
 * visible after its 1 s delay), invokes the drain function with them, and deletes those it did not
 * report as failed.
 */
async function deliverDrainQueue(): Promise<Invocation<SQSBatchResponse>> {
  const deadline = Date.now() + 10_000;
  let messages: Message[] = [];
  while (messages.length === 0) {
    if (Date.now() > deadline) throw new Error('no message arrived on the drain queue within 10 s');
    ({ Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: deployment.outputs.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
    })));
  }
  const invocation = await invoke(drainFn, drain.handler, { Records: messages.map(sqsRecord) });
  const failed = new Set(invocation.result.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId!));
  if (done.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: deployment.outputs.queueUrl,
      Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
    }));
  }
  return invocation;
}

function sqsRecord(message: Message): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? ACCOUNT,
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

/** The body the ASG sends to the hook's queue when it starts terminating an instance. */
function terminationNotice(action: LifecycleAction): string {
  return JSON.stringify({
    Origin: 'AutoScalingGroup',
    Destination: 'EC2',
    Service: 'AWS Auto Scaling',
    Time: new Date().toISOString(),
    AccountId: ACCOUNT,
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    RequestId: randomUUID(),
    LifecycleActionToken: action.token,
    EC2InstanceId: action.instanceId,
    LifecycleHookName: action.lifecycleHookName,
    AutoScalingGroupName: action.autoScalingGroupName,
  });
}

async function queueDepth(): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deployment.outputs.queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }));
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
    + Number(Attributes.ApproximateNumberOfMessagesDelayed);
}

// ---- the scenario (the tests run in order and share the pool) ---------------------------------

/** The worker that takes the first run and keeps it: the long run of steps 3 to 5. */
let longRunWorker: string;
let longRunInstance: string;

test('1. five queued runs: one tick raises desired capacity to 5 and moto launches 5 instances', async () => {
  driver.queueRuns(5);
  const { plan } = await tick();
  expect(plan.counts).toMatchObject({ pending: 5, capacity: 0, desired: 0 });

  const { desired, instances } = await group();
  expect(desired).toBe(5);
  expect(instances).toHaveLength(5);
  expect(instances.every((i) => i.LifecycleState === 'InService' && i.ProtectedFromScaleIn === true)).toBe(true);
  expect(instances.every((i) => i.LaunchTemplate?.LaunchTemplateId === deployment.outputs.launchTemplateId)).toBe(true);
  const details = await ec2Instances(instances.map((i) => i.InstanceId!));
  for (const instance of details.values()) {
    expect(instance).toMatchObject({ ImageId: deployment.amiId, InstanceType: 't3.small', State: { Name: 'running' } });
    expect(instance.Tags).toContainEqual({ Key: 'aws:autoscaling:groupName', Value: deployment.outputs.asgName });
  }

  // A second tick right away launches nothing more: the 5 booting instances are capacity.
  await tick();
  expect((await group()).desired).toBe(5);
  expect(shim.sent(SetDesiredCapacityCommand, asg)).toEqual([
    { AutoScalingGroupName: deployment.outputs.asgName, DesiredCapacity: 5, HonorCooldown: false },
  ]);
});

test('2. the workers register and take the runs; nothing changes while all are busy', async () => {
  const registered = await bootAndSync();
  expect(registered).toHaveLength(5);
  // The first worker to register gets the first run, and keeps it (a long apply).
  [longRunWorker] = registered;
  longRunInstance = JSON.parse(fake.worker(longRunWorker)!.metadata).instance_id as string;
  expect(driver.startRuns()).toHaveLength(5);
  expect(driver.pendingRuns).toBe(0);

  const { plan } = await tick();
  expect(plan.counts).toMatchObject({ pending: 0, busy: 5, idle: 0, registered: 5, capacity: 5, demand: 5, desired: 5 });
  expect(plan.terminate).toEqual([]);
  expect((await group()).desired).toBe(5);
  expect(fake.count('workerDrainSet')).toBe(0);

  // Four runs finish; the long run goes on.
  for (const id of registered.slice(1)) driver.finishRun(id);
});

test('3. after the scale-down delay, one tick drains the idle workers and terminates their instances with decrement', async () => {
  const idle = fake.workers().filter((w) => !w.busy).map((w) => w.id);
  expect(idle).toHaveLength(4);
  const terminated: string[] = [];
  const desiredAfter: number[] = [];
  let last: Tick | undefined;
  try {
    for (let i = 0; i < 6 && terminated.length < 4; i++) {
      last = await tick();
      const chosen = last.plan.terminate ?? [];
      if (chosen.length === 0) break;
      terminated.push(...chosen.map((t) => t.instanceId));
      desiredAfter.push((await group()).desired);
      await bootAndSync();
    }
    if (terminated.length !== 4) {
      throw new Error(`expected the 4 idle workers to be terminated, got ${terminated.length}; the last plan said:\n`
        + `${JSON.stringify(last?.plan.counts)}\n${(last?.plan.reasons ?? []).join('\n')}`);
    }
  } finally {
    // Whatever happened, steps 4 and 5 start from the state this step should leave: the busy worker's
    // instance alone in the group. (The idle ones go the way an operator would remove them.)
    for (const instance of (await group()).instances) {
      if (instance.InstanceId === longRunInstance) continue;
      await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instance.InstanceId, ShouldDecrementDesiredCapacity: true }));
    }
    await bootAndSync();
  }
  // maxTerminatePerTick 5 (the default): all four in one tick, each a targeted termination with
  // decrement; desired capacity is never lowered by SetDesiredCapacity (which would let AWS pick the victims).
  expect(desiredAfter).toEqual([1]);
  expect(shim.sent(TerminateInstanceInAutoScalingGroupCommand, asg)).toEqual(
    terminated.map((InstanceId) => ({ InstanceId, ShouldDecrementDesiredCapacity: true })));
  expect(shim.sent(SetDesiredCapacityCommand, asg).map((input) => input.DesiredCapacity)).toEqual([5]);

  const { instances } = await group();
  expect(instances.map((i) => i.InstanceId)).toEqual([longRunInstance]);
  const states = await ec2Instances(terminated);
  expect([...states.values()].map((i) => i.State?.Name)).toEqual(['terminated', 'terminated', 'terminated', 'terminated']);
  // Each was drained first, once; none was undrained (no worker took a run in between).
  for (const id of idle) expect(drainsOf(id)).toEqual([true]);
  expect(fake.workers().map((w) => w.id)).toEqual([longRunWorker]);
});

test('4. the busy worker is never chosen: not drained, its instance kept', async () => {
  // More ticks with only the busy worker left: demand (1 busy) equals capacity, nothing to do.
  for (let i = 0; i < 2; i++) {
    const { plan } = await tick();
    expect(plan.terminate).toEqual([]);
    expect(plan.counts).toMatchObject({ busy: 1, capacity: 1, desired: 1 });
  }
  // Across every tick so far, including those of step 3 that had 4 instances too many.
  expect(drainsOf(longRunWorker)).toEqual([]);
  expect(shim.sent(TerminateInstanceInAutoScalingGroupCommand, asg).map((input) => input.InstanceId)).not.toContain(longRunInstance);
  expect(fake.worker(longRunWorker)).toMatchObject({ busy: true, drained: false });
  const { desired, instances } = await group();
  expect(desired).toBe(1);
  expect(instances).toEqual([expect.objectContaining({ InstanceId: longRunInstance, LifecycleState: 'InService' })]);
});

test('5. a termination notice is held with heartbeats until the run ends, then completed', async () => {
  // Say an operator terminates the busy worker's instance: the ASG starts the hook's lifecycle action
  // and sends its notice to the drain queue.
  const action = shim.begin(deployment.outputs.asgName, HOOK_NAME, longRunInstance);
  await sqs.send(new SendMessageCommand({ QueueUrl: deployment.outputs.queueUrl, MessageBody: terminationNotice(action) }));

  // The notice: heartbeat, drain the worker, find it busy, re-check later.
  const first = await deliverDrainQueue();
  expect(first.result).toEqual({ batchItemFailures: [] });
  expect(fake.worker(longRunWorker)).toMatchObject({ busy: true, drained: true });
  expect(first.logs.map((l) => l.message)).toContain('workers still busy; re-checking later');

  // A re-check a second later: still busy, so one more heartbeat and re-check.
  const second = await deliverDrainQueue();
  expect(second.result).toEqual({ batchItemFailures: [] });
  expect(second.logs.map((l) => l.message)).toContain('workers still busy; re-checking later');

  // Meanwhile a run is queued. Spacelift does not give it to the drained worker, and the autoscaler
  // does not count the drained worker as capacity (nor undrain it): it launches an instance for the run.
  driver.queueRuns(1);
  expect(driver.startRuns()).toEqual([]);
  const { plan } = await tick();
  expect(plan.counts).toMatchObject({ pending: 1, drained: 1, capacity: 0 });
  expect(drainsOf(longRunWorker)).not.toContain(false);
  expect((await group()).desired).toBe(2);
  const [replacement] = await bootAndSync();
  expect(driver.startRuns()).toEqual([replacement]);

  // The long run ends; the next re-check finds the worker idle and completes the action.
  driver.finishRun(longRunWorker);
  const third = await deliverDrainQueue();
  expect(third.result).toEqual({ batchItemFailures: [] });

  const calls = shim.calls.filter((c) => c.token === action.token);
  expect(calls.map((c) => [c.kind, c.observed, c.accepted])).toEqual([
    ['heartbeat', true, true],
    ['heartbeat', true, true],
    ['heartbeat', false, true],
    ['complete', false, true],
  ]);
  expect(calls.find((c) => c.kind === 'complete')).toMatchObject({ instanceId: longRunInstance, result: 'CONTINUE' });
  expect(shim.isActive(action.token)).toBe(false);

  // The instance is gone, its worker with it; the replacement serves the new run.
  await bootAndSync();
  const { desired, instances } = await group();
  expect(desired).toBe(1);
  expect(instances.map((i) => i.InstanceId)).not.toContain(longRunInstance);
  expect(fake.workers()).toEqual([expect.objectContaining({ id: replacement, busy: true, drained: false })]);
  // Every message was handled: nothing left on the queue, nothing on its dead-letter queue.
  expect(await queueDepth()).toBe(0);
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deployment.outputs.deadLetterQueueUrl, WaitTimeSeconds: 0 }));
  expect(Messages).toEqual([]);
});
