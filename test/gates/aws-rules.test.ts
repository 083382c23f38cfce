/**
 * Gates for AWS rules that emulators (moto) and `cdk synth` do not enforce; docs/aws-rules.md lists each
 * rule with its AWS documentation. Every check reads only a synthesized template, so it covers every
 * example and a pool with every option on, and each is shown to fail on a hand-made violating template.
 */
import * as crypto from 'crypto';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { minMaxReceiveCount, worstHeartbeatGap } from '../../lambda/drain/schedule';
import { DemandSignal, PollingMode, RunAccess, ScaleDownDelay, SpaceliftWorkerPool, WorkerComms, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { buildExamples, exampleApp } from '../support/example-app';
import { POOL_ID, testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

interface CfnTemplate { readonly Resources: { [logicalId: string]: { Type: string; Properties?: any } } }
interface Check { readonly checked: number; readonly violations: string[] }

/** Room for a value CloudFormation resolves at deploy time (an ARN, a URL, a generated name). */
const TOKEN_BYTES = 256;
const USER_DATA_LIMIT_BYTES = 16 * 1024;
const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4 * 1024;
const MAX_SQS_DELAY_SECONDS = 900;
const GLOBAL_TIMEOUT_CAP_SECONDS = 48 * 3600;
/** A queue ARN as CloudFormation makes them: a string resource pattern that matches it covers any queue of the stack. */
const SAMPLE_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:Stack-PoolDrainQueue1A2B3C-Q1W2E3R4T5Y6';

const resourcesOf = (template: CfnTemplate, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type) as [string, { Type: string; Properties: any }][];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const getAttArn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** Bytes of a string-valued template expression once deployed, each reference counted as TOKEN_BYTES. */
function resolvedBytes(node: unknown): number {
  if (typeof node === 'string') return Buffer.byteLength(node, 'utf8');
  if (typeof node === 'number' || typeof node === 'boolean') return String(node).length;
  const fn = (node ?? {}) as Record<string, any>;
  if (fn['Fn::Join'] && Array.isArray(fn['Fn::Join'][1])) {
    const [delimiter, parts] = fn['Fn::Join'] as [string, unknown[]];
    return parts.reduce<number>((sum, part) => sum + resolvedBytes(part), 0) + delimiter.length * Math.max(0, parts.length - 1);
  }
  if (fn['Fn::Sub']) {
    const [text, variables] = typeof fn['Fn::Sub'] === 'string' ? [fn['Fn::Sub'], {}] : fn['Fn::Sub'];
    return (text as string).split(/(\$\{[^!}][^}]*\})/).reduce((sum, piece) => {
      const name = /^\$\{([^}]+)\}$/.exec(piece)?.[1];
      if (name === undefined) return sum + Buffer.byteLength(piece.replace(/\$\{!/g, '${'), 'utf8');
      return sum + (name in variables ? resolvedBytes(variables[name]) : TOKEN_BYTES);
    }, 0);
  }
  if (fn['Fn::Base64'] !== undefined) return Math.ceil(resolvedBytes(fn['Fn::Base64']) / 3) * 4;
  if (fn['Fn::If']) return Math.max(resolvedBytes(fn['Fn::If'][1]), resolvedBytes(fn['Fn::If'][2]));
  return TOKEN_BYTES;
}

/** Does an IAM action pattern (with `*` and `?`) cover `action`? */
function actionCovers(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'i');
  return regex.test(action);
}

/** Statements of every policy attached to a role of the template, inline or in a policy resource. */
function roleStatements(template: CfnTemplate, roleId: string): any[] {
  const role = template.Resources[roleId]?.Properties ?? {};
  const inline = list<any>(role.Policies).flatMap((p) => list(p.PolicyDocument?.Statement));
  const attached = [...resourcesOf(template, 'AWS::IAM::Policy'), ...resourcesOf(template, 'AWS::IAM::ManagedPolicy')]
    .filter(([id, p]) => list(p.Properties.Roles).some((r) => same(r, { Ref: roleId }))
      || list(role.ManagedPolicyArns).some((arn) => same(arn, { Ref: id })))
    .flatMap(([, p]) => list(p.Properties.PolicyDocument?.Statement));
  return [...inline, ...attached];
}

/** (a) A function that may send to its own event-source queue must allow the recursive loop. */
export function checkRecursiveLoops(template: CfnTemplate): Check {
  const violations: string[] = [];
  let checked = 0;
  for (const [mappingId, mapping] of resourcesOf(template, 'AWS::Lambda::EventSourceMapping')) {
    const queueArn = mapping.Properties.EventSourceArn;
    const functionId = mapping.Properties.FunctionName?.Ref;
    const fn = template.Resources[functionId];
    const roleId = fn?.Properties?.Role?.['Fn::GetAtt']?.[0];
    if (fn === undefined || roleId === undefined) continue;
    const sendsToItsQueue = roleStatements(template, roleId).some((s) => s.Effect === 'Allow'
      && list<string>(s.Action).some((a) => actionCovers(a, 'sqs:SendMessage'))
      && list(s.Resource).some((r) => same(r, queueArn) || (typeof r === 'string' && actionCovers(r, SAMPLE_QUEUE_ARN))));
    if (!sendsToItsQueue) continue;
    checked++;
    if (fn.Properties.RecursiveLoop !== 'Allow') {
      violations.push(`${functionId} may send to its own event-source queue (${mappingId}) but has RecursiveLoop `
        + `${fn.Properties.RecursiveLoop ?? 'Terminate (default)'}: Lambda stops such a loop after about 16 hops`);
    }
  }
  return { checked, violations };
}

/** (b) EC2 user data is at most 16 KB before base64 encoding. */
export function checkUserData(template: CfnTemplate): Check {
  const userData: [string, unknown][] = [
    ...resourcesOf(template, 'AWS::EC2::LaunchTemplate').map(([id, r]) => [id, r.Properties.LaunchTemplateData?.UserData] as [string, unknown]),
    ...resourcesOf(template, 'AWS::EC2::Instance').map(([id, r]) => [id, r.Properties.UserData] as [string, unknown]),
    ...resourcesOf(template, 'AWS::AutoScaling::LaunchConfiguration').map(([id, r]) => [id, r.Properties.UserData] as [string, unknown]),
  ].filter(([, value]) => value !== undefined);
  const violations = userData.flatMap(([id, value]) => {
    const encoded = value as Record<string, unknown>;
    const raw = encoded['Fn::Base64'] !== undefined
      ? resolvedBytes(encoded['Fn::Base64'])
      : Math.floor((resolvedBytes(value) * 3) / 4);
    return raw > USER_DATA_LIMIT_BYTES ? [`${id}: user data is about ${raw} bytes before base64, over ${USER_DATA_LIMIT_BYTES}`] : [];
  });
  return { checked: userData.length, violations };
}

/** (c) A function's environment variables total at most 4 KB (Lambda measures them as one JSON map). */
export function checkLambdaEnvironment(template: CfnTemplate): Check {
  const functions = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties.Environment?.Variables);
  const violations = functions.flatMap(([id, fn]) => {
    const variables = Object.entries<unknown>(fn.Properties.Environment.Variables);
    const bytes = Buffer.byteLength(JSON.stringify(Object.fromEntries(variables.map(([name, value]) => [name, 'x'.repeat(resolvedBytes(value))]))));
    return bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES ? [`${id}: environment is about ${bytes} bytes, over ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}`] : [];
  });
  return { checked: functions.length, violations };
}

/** The function whose event source is the queue behind `queueArn`, if any. */
function consumerOf(template: CfnTemplate, queueArn: unknown): any {
  const mapping = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').find(([, m]) => same(m.Properties.EventSourceArn, queueArn));
  return mapping && template.Resources[mapping[1].Properties.FunctionName?.Ref];
}

/**
 * (d) Heartbeat timeout 30-7200 s, and a drain budget within the hook's global timeout,
 * min(100 x heartbeat timeout, 48 h), which no heartbeat extends.
 */
export function checkLifecycleHooks(template: CfnTemplate): Check {
  const hooks = [
    ...resourcesOf(template, 'AWS::AutoScaling::LifecycleHook').map(([id, r]) => [id, r.Properties] as [string, any]),
    ...resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup')
      .flatMap(([id, r]) => list<any>(r.Properties.LifecycleHookSpecificationList).map((h) => [`${id}/${h.LifecycleHookName}`, h] as [string, any])),
  ];
  const violations = hooks.flatMap(([id, hook]) => {
    const heartbeat = Number(hook.HeartbeatTimeout ?? 3600);
    if (!Number.isInteger(heartbeat) || heartbeat < 30 || heartbeat > 7200) return [`${id}: HeartbeatTimeout ${heartbeat} is outside 30-7200 s`];
    const variables = consumerOf(template, hook.NotificationTargetARN)?.Properties?.Environment?.Variables ?? {};
    const problems: string[] = [];
    const budget = Number(variables.DRAIN_TIMEOUT_SECONDS);
    const globalTimeout = Math.min(100 * heartbeat, GLOBAL_TIMEOUT_CAP_SECONDS);
    if (variables.DRAIN_TIMEOUT_SECONDS !== undefined && !(budget <= globalTimeout)) {
      problems.push(`${id}: drain budget ${variables.DRAIN_TIMEOUT_SECONDS} s exceeds the hook's global timeout ${globalTimeout} s`);
    }
    if (variables.HEARTBEAT_TIMEOUT_SECONDS !== undefined && Number(variables.HEARTBEAT_TIMEOUT_SECONDS) !== heartbeat) {
      problems.push(`${id}: the drain function assumes a ${variables.HEARTBEAT_TIMEOUT_SECONDS} s heartbeat timeout, the hook has ${heartbeat} s`);
    }
    // The queue's own timing: a receive that fails (a throttled invocation) comes back one visibility timeout later,
    // which must still fit before the hook expires; and the DLQ must not take a live drain's message before the budget.
    const queue = template.Resources[hook.NotificationTargetARN?.['Fn::GetAtt']?.[0]]?.Properties;
    const interval = Number(variables.RECHECK_INTERVAL_SECONDS);
    if (queue !== undefined && variables.RECHECK_INTERVAL_SECONDS !== undefined) {
      const visibility = Number(queue.VisibilityTimeout ?? 30);
      const schedule = { heartbeatTimeout: heartbeat, recheckInterval: interval, drainTimeout: budget };
      const gap = worstHeartbeatGap(schedule, visibility);
      if (!(gap < heartbeat)) {
        problems.push(`${id}: a re-check whose receive fails heartbeats ${gap} s after the last (interval ${interval} s + visibility `
          + `timeout ${visibility} s + margin), not within the ${heartbeat} s heartbeat timeout`);
      }
      const receives = queue.RedrivePolicy?.maxReceiveCount;
      if (receives !== undefined && variables.DRAIN_TIMEOUT_SECONDS !== undefined && Number(receives) < minMaxReceiveCount(schedule, visibility)) {
        problems.push(`${id}: maxReceiveCount ${receives} dead-letters a message before the ${budget} s drain budget runs out`);
      }
    }
    return problems;
  });
  return { checked: hooks.length, violations };
}

/** (e) SQS delays are at most 900 s: a queue's own delay, and the drain's re-check delay (never above its interval). */
export function checkSqsDelays(template: CfnTemplate): Check {
  const queues = resourcesOf(template, 'AWS::SQS::Queue').map(([id, q]) => [id, q.Properties.DelaySeconds] as [string, unknown]);
  const rechecks = resourcesOf(template, 'AWS::Lambda::Function')
    .filter(([, fn]) => fn.Properties.Environment?.Variables?.RECHECK_INTERVAL_SECONDS !== undefined)
    .map(([id, fn]) => [id, fn.Properties.Environment.Variables.RECHECK_INTERVAL_SECONDS] as [string, unknown]);
  const violations = [...queues, ...rechecks]
    .filter(([, delay]) => delay !== undefined && !(Number(delay) >= 0 && Number(delay) <= MAX_SQS_DELAY_SECONDS))
    .map(([id, delay]) => `${id}: delay ${String(delay)} s is not within 0-${MAX_SQS_DELAY_SECONDS} s`);
  return { checked: queues.length + rechecks.length, violations };
}

/**
 * (f) A warm pool never takes instances back on scale-in: they would skip the termination hook and its drain
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html); and AWS refuses it on a
 * group with a mixed instances policy (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html).
 */
export function checkWarmPools(template: CfnTemplate): Check {
  const groups = new Map(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'));
  const pools = resourcesOf(template, 'AWS::AutoScaling::WarmPool');
  const violations = pools.flatMap(([id, pool]) => {
    const found: string[] = [];
    if (pool.Properties.InstanceReusePolicy?.ReuseOnScaleIn === true) {
      found.push(`${id}: ReuseOnScaleIn returns instances to the warm pool without the termination hook, so busy workers are not drained`);
    }
    const group = groups.get(pool.Properties.AutoScalingGroupName?.Ref);
    if (group?.Properties.MixedInstancesPolicy !== undefined) {
      found.push(`${id}: AWS refuses a warm pool on a group with a mixed instances policy`);
    }
    return found;
  });
  return { checked: groups.size, violations };
}

/**
 * (g) With instance metadata tags on, EC2 refuses to launch an instance whose tag keys have characters other than
 * letters, digits and + - = . , _ : @, or are ".", ".." or "_index"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html): checked on the instance tags of
 * such launch templates and on the tags every group propagates at launch.
 */
export function checkInstanceMetadataTags(template: CfnTemplate): Check {
  const templates = resourcesOf(template, 'AWS::EC2::LaunchTemplate')
    .filter(([, t]) => t.Properties.LaunchTemplateData?.MetadataOptions?.InstanceMetadataTags === 'enabled');
  if (templates.length === 0) return { checked: 0, violations: [] };
  const keys = [
    ...templates.flatMap(([id, t]) => list<any>(t.Properties.LaunchTemplateData.TagSpecifications)
      .filter((spec) => spec.ResourceType === 'instance')
      .flatMap((spec) => list<any>(spec.Tags).map((tag) => [id, tag.Key] as const))),
    ...resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup')
      .flatMap(([id, g]) => list<any>(g.Properties.Tags).filter((tag) => tag.PropagateAtLaunch === true).map((tag) => [id, tag.Key] as const)),
  ];
  const violations = keys
    .filter(([, key]) => typeof key === 'string' && (!/^[A-Za-z0-9+\-=.,_:@]+$/.test(key) || ['.', '..', '_index'].includes(key)))
    .map(([id, key]) => `${id}: instance tag key "${key}" makes EC2 refuse the launch with instance metadata tags on`);
  return { checked: keys.length, violations };
}

/**
 * (h) A termination lifecycle action that expires ends with the hook's default result, and for a termination hook both
 * CONTINUE and ABANDON terminate the instance, busy run or not, unless the group retains instances whose action is
 * abandoned (https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-lifecycle-policy.html): every termination
 * hook defaults to ABANDON on a group with that retention trigger.
 */
export function checkTerminationRetention(template: CfnTemplate): Check {
  const hooks = resourcesOf(template, 'AWS::AutoScaling::LifecycleHook')
    .filter(([, h]) => h.Properties.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING');
  const violations = hooks.flatMap(([id, hook]) => {
    const group = template.Resources[hook.Properties.AutoScalingGroupName?.Ref]?.Properties;
    const retains = group?.InstanceLifecyclePolicy?.RetentionTriggers?.TerminateHookAbandon === 'retain';
    const found: string[] = [];
    if (hook.Properties.DefaultResult !== 'ABANDON') found.push(`${id}: an expired action (${hook.Properties.DefaultResult ?? 'ABANDON'}) terminates the instance`);
    if (!retains) found.push(`${id}: its group does not retain an instance whose termination action is abandoned, so an expired action terminates it`);
    return found;
  });
  return { checked: hooks.length, violations };
}

const CHECKS = {
  checkRecursiveLoops, checkUserData, checkLambdaEnvironment, checkLifecycleHooks, checkSqsDelays, checkWarmPools, checkInstanceMetadataTags,
  checkTerminationRetention,
};

/** A pool with every option that adds resources, environment or user data turned on. */
function maximalPool(): Stack {
  const stack = new Stack(recommendedApp(), 'Maximal', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
  const secret = (name: string) => secretsmanager.Secret.fromSecretNameV2(stack, name, `spacelift/${name}`);
  const pem = (seed: string) => `-----BEGIN CERTIFICATE-----\n${crypto.createHash('sha512').update(seed).digest('base64').repeat(8)}\n-----END CERTIFICATE-----`;
  new SpaceliftWorkerPool(stack, 'Pool', {
    vpc,
    workerPoolId: POOL_ID,
    credentials: WorkerPoolCredentials.fromSecret(secret('pool')),
    spaceliftApiKey: testApiKey(),
    machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
    instanceTypes: ['m6i.large', 'm5.large', 'm7i.large', 'c6i.xlarge'].map((t) => new ec2.InstanceType(t)),
    onDemandBaseCapacity: 1,
    onDemandPercentageAboveBaseCapacity: 20,
    capacityRebalance: true,
    minSize: 1,
    maxSize: 200,
    permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', 'org-boundary'),
    logEncryptionKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    rootVolume: { sizeGiB: 200, throughput: 500, iops: 6000, encryptionKey: new kms.Key(stack, 'VolumeKey') },
    tags: { team: 'platform', costCenter: 'cc-1234', environment: 'production' },
    extraPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::state-bucket/*'] })],
    functionPlacement: { vpc, tracing: lambda.Tracing.ACTIVE },
    drain: { heartbeatTimeout: Duration.hours(2), recheckInterval: Duration.minutes(15), drainTimeout: Duration.hours(48) },
    autoscaling: {
      pollInterval: Duration.seconds(5),
      scheduleRate: Duration.minutes(10),
      minIdle: 2,
      demandSignal: DemandSignal.SCHEDULABLE_RUNS,
      maxCreatePerTick: 20,
      maxTerminatePerTick: 10,
      maxStraysPerTick: 3,
      scaleDownDelay: ScaleDownDelay.breakEven({ bootTime: Duration.minutes(3), minimum: Duration.minutes(1), maximum: Duration.minutes(20) }),
      idleWorkersWindows: ['Europe/Berlin', 'America/Los_Angeles', 'Asia/Tokyo'].map((timezone) => (
        { timezone, daysOfWeek: [1, 2, 3, 4, 5], start: '07:30', end: '19:00', minIdle: 4 })),
      pollingMode: PollingMode.WHILE_QUEUED,
      busyWorkerFinishingWithin: Duration.minutes(2),
    },
    webhook: { minTriggerInterval: Duration.seconds(10), replayWindow: Duration.minutes(10) },
    launcher: {
      comms: WorkerComms.poll({ url: 'https://acme.app.spacelift.io' }),
      runTimeout: Duration.minutes(120),
      logsTimeout: Duration.minutes(10),
      sensitiveOutputUpload: true,
      runLogsOnStandardOutput: true,
      extraMounts: [{ hostPath: '/opt/cache', containerPath: '/mnt/cache', runs: RunAccess.READ_ONLY }],
      defaultRunnerImage: 'public.ecr.aws/spacelift/runner-terraform:latest',
      maskEnvs: ['TF_VAR_password', 'TF_VAR_token'],
      whitelistEnvs: ['AWS_REGION', 'TF_LOG'],
      metadata: { team: 'platform', tier: 'production' },
      environment: { TF_PLUGIN_CACHE_DIR: '/opt/cache/plugins', TF_LOG: 'INFO' },
      secretEnvironment: {
        GITHUB_TOKEN: { secret: secret('github'), jsonKey: 'token' },
        REGISTRY_PASSWORD: { secret: secret('registry') },
      },
      proxy: { httpProxy: 'http://proxy.internal:3128', httpsProxy: 'http://proxy.internal:3128', noProxy: ['169.254.169.254', '.internal'] },
      caCertificates: [pem('one'), pem('two')],
    },
    preStartHooks: {
      ecrRepositories: [ecr.Repository.fromRepositoryName(stack, 'Runner', 'spacelift/runner')],
      commands: ['dnf install -y git-lfs', 'mkdir -p /opt/cache/plugins'],
    },
  });
  return stack;
}

describe('every example and a maximal pool pass every AWS rule gate', () => {
  const app = buildExamples(exampleApp());
  const stacks = [...app.node.children.filter((c): c is Stack => Stack.isStack(c)), maximalPool()];
  const templates = stacks.map((stack) => [stack.stackName, Template.fromStack(stack).toJSON() as CfnTemplate] as const);

  test.each(templates)('%s', (_name, template) => {
    for (const [name, check] of Object.entries(CHECKS)) {
      const result = check(template);
      expect({ check: name, violations: result.violations }).toEqual({ check: name, violations: [] });
      // Each check looked at something: the drain loop, the launch template, the functions, the hook, the queues, the group.
      expect({ check: name, checked: result.checked > 0 }).toEqual({ check: name, checked: true });
    }
  });
});

describe('each gate fails on a template that breaks its rule', () => {
  const loop = (recursiveLoop?: string, action: string | string[] = 'sqs:SendMessage', resource: unknown = getAttArn('Queue')): CfnTemplate => ({
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Role: { Type: 'AWS::IAM::Role', Properties: {} },
      Policy: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'Role' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] } } },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: getAttArn('Role'), ...(recursiveLoop ? { RecursiveLoop: recursiveLoop } : {}) } },
      Mapping: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: getAttArn('Queue'), FunctionName: { Ref: 'Fn' } } },
    },
  });

  test('(a) recursive loop: a function sending to its own queue without Allow', () => {
    expect(checkRecursiveLoops(loop()).violations).toEqual([expect.stringContaining('Fn may send to its own event-source queue')]);
    expect(checkRecursiveLoops(loop('Terminate', ['sqs:Send*'], '*')).violations).toHaveLength(1);
    expect(checkRecursiveLoops(loop('Allow')).violations).toEqual([]);
    // A wildcard ARN pattern covers the queue as well as "*" does.
    expect(checkRecursiveLoops(loop(undefined, 'sqs:SendMessage', 'arn:aws:sqs:*:*:*')).violations).toHaveLength(1);
    expect(checkRecursiveLoops(loop(undefined, 'sqs:SendMessage', 'arn:aws:sqs:*:*:another-queue')).checked).toBe(0);
    // A function that only consumes its queue is no loop.
    expect(checkRecursiveLoops(loop(undefined, 'sqs:ReceiveMessage')).checked).toBe(0);
  });

  test('(b) user data over 16 KB before base64', () => {
    const launchTemplate = (script: unknown): CfnTemplate => ({
      Resources: { LT: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { UserData: { 'Fn::Base64': script } } } } },
    });
    expect(checkUserData(launchTemplate('x'.repeat(16 * 1024))).violations).toEqual([]);
    expect(checkUserData(launchTemplate('x'.repeat(16 * 1024 + 1))).violations).toHaveLength(1);
    // References count at their deployed size.
    expect(checkUserData(launchTemplate({ 'Fn::Join': ['', ['x'.repeat(16 * 1024 - 100), { Ref: 'Secret' }]] })).violations).toHaveLength(1);
  });

  test('(c) a Lambda environment over 4 KB', () => {
    const fn = (variables: object): CfnTemplate => ({ Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: variables } } } } });
    expect(checkLambdaEnvironment(fn({ A: 'x'.repeat(4000) })).violations).toEqual([]);
    expect(checkLambdaEnvironment(fn({ A: 'x'.repeat(4000), B: 'y'.repeat(100) })).violations).toHaveLength(1);
    expect(checkLambdaEnvironment(fn({ A: 'x'.repeat(3900), B: { 'Fn::GetAtt': ['Queue', 'QueueUrl'] } })).violations).toHaveLength(1);
  });

  test('(d) a heartbeat timeout outside 30-7200 s, or a drain budget beyond the global timeout', () => {
    const drained = (heartbeat: number, budget: string): CfnTemplate => ({
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
        Hook: { Type: 'AWS::AutoScaling::LifecycleHook', Properties: { HeartbeatTimeout: heartbeat, NotificationTargetARN: getAttArn('Queue') } },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { DRAIN_TIMEOUT_SECONDS: budget, HEARTBEAT_TIMEOUT_SECONDS: String(heartbeat) } } } },
        Mapping: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: getAttArn('Queue'), FunctionName: { Ref: 'Fn' } } },
      },
    });
    expect(checkLifecycleHooks(drained(600, '4800')).violations).toEqual([]);
    expect(checkLifecycleHooks(drained(20, '600')).violations).toEqual([expect.stringContaining('outside 30-7200')]);
    expect(checkLifecycleHooks(drained(7201, '600')).violations).toHaveLength(1);
    expect(checkLifecycleHooks(drained(300, '30001')).violations).toEqual([expect.stringContaining('global timeout 30000 s')]);
    expect(checkLifecycleHooks(drained(7200, String(48 * 3600 + 1))).violations).toEqual([expect.stringContaining('global timeout 172800 s')]);
  });

  test('(d) a drain queue whose failed receive outlasts the heartbeat timeout, or whose DLQ takes a live drain', () => {
    const drained = (visibility: number, maxReceiveCount: number): CfnTemplate => ({
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: visibility, RedrivePolicy: { maxReceiveCount } } },
        Hook: { Type: 'AWS::AutoScaling::LifecycleHook', Properties: { HeartbeatTimeout: 600, NotificationTargetARN: getAttArn('Queue') } },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: {
          DRAIN_TIMEOUT_SECONDS: '4800', HEARTBEAT_TIMEOUT_SECONDS: '600', RECHECK_INTERVAL_SECONDS: '60' } } } },
        Mapping: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: getAttArn('Queue'), FunctionName: { Ref: 'Fn' } } },
      },
    });
    expect(checkLifecycleHooks(drained(360, 15)).violations).toEqual([]);
    expect(checkLifecycleHooks(drained(420, 15)).violations).toEqual([expect.stringContaining('not within the 600 s heartbeat timeout')]);
    expect(checkLifecycleHooks(drained(360, 5)).violations).toEqual([expect.stringContaining('maxReceiveCount 5 dead-letters')]);
  });

  test('(e) an SQS delay over 900 s', () => {
    const queue = (delay: number): CfnTemplate => ({ Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: delay } } } });
    expect(checkSqsDelays(queue(900)).violations).toEqual([]);
    expect(checkSqsDelays(queue(901)).violations).toHaveLength(1);
    const drain: CfnTemplate = { Resources: { Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { RECHECK_INTERVAL_SECONDS: '960' } } } } } };
    expect(checkSqsDelays(drain).violations).toEqual([expect.stringContaining('Fn: delay 960 s')]);
  });

  test('(f) a warm pool that reuses instances on scale-in, or on a mixed instances group', () => {
    const template = (reuse: boolean, mixed: boolean): CfnTemplate => ({
      Resources: {
        G: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: mixed ? { MixedInstancesPolicy: {} } : {} },
        WP: { Type: 'AWS::AutoScaling::WarmPool', Properties: { AutoScalingGroupName: { Ref: 'G' }, InstanceReusePolicy: { ReuseOnScaleIn: reuse } } },
      },
    });
    expect(checkWarmPools(template(false, false))).toEqual({ checked: 1, violations: [] });
    expect(checkWarmPools(template(true, false)).violations).toEqual([expect.stringContaining('WP: ReuseOnScaleIn')]);
    expect(checkWarmPools(template(false, true)).violations).toEqual([expect.stringContaining('mixed instances policy')]);
  });

  test('(h) a termination hook whose expired action would terminate the instance', () => {
    const template = (defaultResult: string | undefined, retain: string | undefined): CfnTemplate => ({
      Resources: {
        G: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: retain ? { InstanceLifecyclePolicy: { RetentionTriggers: { TerminateHookAbandon: retain } } } : {} },
        H: { Type: 'AWS::AutoScaling::LifecycleHook', Properties: {
          AutoScalingGroupName: { Ref: 'G' }, LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', ...(defaultResult ? { DefaultResult: defaultResult } : {}) } },
      },
    });
    expect(checkTerminationRetention(template('ABANDON', 'retain'))).toEqual({ checked: 1, violations: [] });
    expect(checkTerminationRetention(template('CONTINUE', 'retain')).violations).toEqual([expect.stringContaining('H: an expired action (CONTINUE)')]);
    expect(checkTerminationRetention(template('ABANDON', undefined)).violations).toEqual([expect.stringContaining('does not retain')]);
    expect(checkTerminationRetention(template('ABANDON', 'terminate')).violations).toHaveLength(1);
  });

  test('(g) an instance tag key EC2 refuses with instance metadata tags on', () => {
    const template = (key: string, metadataTags = 'enabled'): CfnTemplate => ({
      Resources: {
        LT: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: {
          MetadataOptions: { InstanceMetadataTags: metadataTags },
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: key, Value: 'v' }] }],
        } } },
        G: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { Tags: [{ Key: key, Value: 'v', PropagateAtLaunch: true }] } },
      },
    });
    expect(checkInstanceMetadataTags(template('cost:center'))).toEqual({ checked: 2, violations: [] });
    expect(checkInstanceMetadataTags(template('Cost Center')).violations).toEqual([
      expect.stringContaining('LT: instance tag key "Cost Center"'), expect.stringContaining('G: instance tag key "Cost Center"')]);
    expect(checkInstanceMetadataTags(template('team/owner')).violations).toHaveLength(2);
    expect(checkInstanceMetadataTags(template('_index')).violations).toHaveLength(2);
    expect(checkInstanceMetadataTags(template('Cost Center', 'disabled')).checked).toBe(0);
  });
});
