/**
 * `cdk bootstrap` + `cdk deploy` of a SpaceliftWorkerPool stack into moto with the pinned CLI, then
 * checks what moto's CloudFormation really created.
 *
 * What moto 5.2.1 does NOT create (it logs "No Moto CloudFormation support for <type>", marks the
 * resource CREATE_COMPLETE and moves on; a Ref to it resolves to nothing). The construct tests in
 * test/constructs assert these resources in the template instead:
 * - AWS::AutoScaling::LifecycleHook (the termination drain hook) and with it every lifecycle
 *   notification, Terminating:Wait state, heartbeat and completion;
 * - AWS::SQS::QueuePolicy (the SSL-only policies of both queues);
 * - AWS::Lambda::EventInvokeConfig (the autoscaler's retryAttempts 0);
 * - AWS::SecretsManager::Secret, so the test imports secrets it made in moto first
 *   (WorkerPoolCredentials.fromValues cannot be deployed to moto);
 * - Custom::AWS (the AwsCustomResource suspending AZRebalance) is reported CREATE_COMPLETE, but its
 *   Lambda never runs (moto needs Docker for that), so no process is suspended.
 * moto also ignores the functions' Architectures (arm64 shows as x86_64) and LoggingConfig, and the
 * group's UpdatePolicy (instance refresh), which only matters on updates.
 */
import { gunzipSync } from 'node:zlib';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { API_KEY_ID, STACK_NAME, WORKER_POOL_ID } from './app/constants';
import { deployPoolStack, type Deployment } from './support/deploy';
import { acquireMoto, clientConfig, releaseMoto } from './support/moto';
import { cloudFormation, events, lambdaApi, type FunctionConfiguration } from './support/moto-apis';

jest.setTimeout(60_000);

let deployment: Deployment;
let autoscaling: AutoScalingClient;
let ec2: EC2Client;
let sqs: SQSClient;

beforeAll(async () => {
  await acquireMoto('deploy.test.ts');
  autoscaling = new AutoScalingClient(clientConfig());
  ec2 = new EC2Client(clientConfig());
  // moto's CloudFormation hands out https://sqs.us-east-1.amazonaws.com/... queue URLs: never let the SDK use them as the endpoint.
  sqs = new SQSClient({ ...clientConfig(), useQueueUrlAsEndpoint: false });
  deployment = await deployPoolStack();
}, 170_000);

afterAll(async () => {
  autoscaling?.destroy();
  ec2?.destroy();
  sqs?.destroy();
  deployment?.cleanup();
  await releaseMoto();
});

async function group(): Promise<AutoScalingGroup> {
  const { AutoScalingGroups = [] } = await autoscaling.send(new DescribeAutoScalingGroupsCommand({
    AutoScalingGroupNames: [deployment.outputs.asgName],
  }));
  expect(AutoScalingGroups).toHaveLength(1);
  return AutoScalingGroups[0];
}

function resourcesOfType(type: string): string[] {
  return Object.entries(deployment.template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
}

test('the stack deploys and its group uses the launch template, with no desired capacity from CloudFormation', async () => {
  const asg = await group();
  expect(asg.AutoScalingGroupName).toMatch(new RegExp(`^${STACK_NAME}-`));
  expect(asg.LaunchTemplate?.LaunchTemplateId).toBe(deployment.outputs.launchTemplateId);
  expect(asg).toMatchObject({
    MinSize: 0,
    MaxSize: 8,
    DesiredCapacity: 0,
    NewInstancesProtectedFromScaleIn: true,
    HealthCheckType: 'EC2',
    HealthCheckGracePeriod: 120,
    TerminationPolicies: ['OldestLaunchTemplate', 'OldestInstance'],
  });
  expect(asg.Instances ?? []).toEqual([]);
  expect(asg.Tags?.find((t) => t.Key === 'WorkerPoolId')?.Value).toBe(WORKER_POOL_ID);

  // The workers' subnets are the VPC's two private subnets.
  const subnetIds = (asg.VPCZoneIdentifier ?? '').split(',').filter(Boolean);
  expect(subnetIds).toHaveLength(2);
  const { Subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
  expect(Subnets.map((s) => s.MapPublicIpOnLaunch)).toEqual([false, false]);
  expect(new Set(Subnets.map((s) => s.AvailabilityZone))).toEqual(new Set(['us-east-1a', 'us-east-1b']));

  // Instance refresh is in the template; moto accepts and ignores it on create.
  const [asgId] = resourcesOfType('AWS::AutoScaling::AutoScalingGroup');
  expect(deployment.template.Resources[asgId].UpdatePolicy).toHaveProperty('AutoScalingInstanceRefresh');
});

test('the launch template carries the image, IMDSv2, the encrypted volume and the bootstrap', async () => {
  const { LaunchTemplateVersions = [] } = await ec2.send(new DescribeLaunchTemplateVersionsCommand({
    LaunchTemplateId: deployment.outputs.launchTemplateId,
  }));
  expect(LaunchTemplateVersions).toHaveLength(1);
  const data = LaunchTemplateVersions[0].LaunchTemplateData!;
  expect(data).toMatchObject({
    ImageId: deployment.amiId,
    InstanceType: 't3.small',
    InstanceInitiatedShutdownBehavior: 'terminate',
    Monitoring: { Enabled: false },
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 40, VolumeType: 'gp3', DeleteOnTermination: true } }],
  });
  expect(data.IamInstanceProfile?.Arn).toMatch(/:instance-profile\/IntegSpaceliftPool-/);
  const userData = Buffer.from(data.UserData ?? '', 'base64').toString('utf8');
  expect(userData).toMatch(/^#!\/bin\/bash/);
  // The parameters and program are packed (gzip + base64) into the script.
  const packed = /^packed='([A-Za-z0-9+/=]+)'$/m.exec(userData)?.[1];
  expect(packed).toBeDefined();
  const program = gunzipSync(Buffer.from(packed!, 'base64')).toString('utf8');
  // Values only CloudFormation knows (the log group names) stay outside the packed part, possibly
  // base64-encoded. Together they name the secret and both log groups as deployed, and no secret value.
  const script = `${userData}\n${program}`;
  const mentions = (value: string) => script.includes(value) || script.includes(Buffer.from(value).toString('base64'));
  expect(mentions(deployment.credentialsSecretArn)).toBe(true);
  const logGroups = (await cloudFormation.describeStackResources(STACK_NAME))
    .filter((r) => r.type === 'AWS::Logs::LogGroup' && r.logicalId?.startsWith('PoolLogs'));
  expect(logGroups).toHaveLength(2);
  for (const logGroup of logGroups) expect(mentions(logGroup.physicalId!)).toBe(true);
  expect(mentions('aW50ZWctdG9rZW4=')).toBe(false);
  expect(script).not.toContain('${Token[');
});

test('the drain queue has its dead-letter queue with a bounded receive count', async () => {
  const { Attributes: queue = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deployment.outputs.queueUrl,
    AttributeNames: ['All'],
  }));
  const { Attributes: dlq = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deployment.outputs.deadLetterQueueUrl,
    AttributeNames: ['All'],
  }));
  // ceil(drainTimeout 4800 s / visibility timeout 360 s) + 1: a message survives an outage as long as the drain budget.
  expect(JSON.parse(queue.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: 15 });
  expect(queue).toMatchObject({ VisibilityTimeout: '360', MessageRetentionPeriod: String(4 * 24 * 3600), SqsManagedSseEnabled: 'true' });
  expect(dlq).toMatchObject({ MessageRetentionPeriod: String(14 * 24 * 3600), SqsManagedSseEnabled: 'true' });
});

describe('both functions exist with their environment resolved by CloudFormation', () => {
  let autoscaler: FunctionConfiguration;
  let drain: FunctionConfiguration;
  beforeAll(async () => {
    autoscaler = await lambdaApi.getFunctionConfiguration(deployment.outputs.autoscalerFunctionName);
    drain = await lambdaApi.getFunctionConfiguration(deployment.outputs.drainFunctionName);
  });

  test('common settings', () => {
    for (const fn of [autoscaler, drain]) {
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', MemorySize: 256 });
      const env = fn.Environment?.Variables ?? {};
      // No unresolved token or intrinsic leaked into the deployed values.
      for (const value of Object.values(env)) expect(value).not.toMatch(/\$\{Token\[|"(Ref|Fn::[A-Za-z]+)"/);
      expect(env).toMatchObject({
        SPACELIFT_API_ENDPOINT: 'https://integ.app.spacelift.io',
        SPACELIFT_API_KEY_ID: API_KEY_ID,
        SPACELIFT_API_KEY_SECRET_ARN: deployment.apiKeySecretArn,
        SPACELIFT_WORKER_POOL_ID: WORKER_POOL_ID,
      });
    }
  });

  test('the autoscaler targets the deployed group, with one concurrent execution at most', async () => {
    expect(await lambdaApi.getReservedConcurrency(autoscaler.FunctionName)).toBe(1);
    expect(autoscaler.Environment?.Variables).toMatchObject({
      ASG_NAME: deployment.outputs.asgName,
      SCALE_DOWN_DELAY: 'fixed:0',
      POLL_INTERVAL_SECONDS: '15',
      LOOP_SECONDS: expect.stringMatching(/^\d+$/),
      MAX_TERMINATE_PER_TICK: '5',
    });
    // loopSeconds + one tick's worst case (see WorkerPoolAutoscaler).
    expect(autoscaler.Timeout).toBeGreaterThan(Number(autoscaler.Environment?.Variables?.LOOP_SECONDS));
  });

  test('the drain function reads the deployed queue, fed by an SQS event source with partial batch responses', async () => {
    expect(drain.Environment?.Variables).toMatchObject({
      QUEUE_URL: deployment.outputs.queueUrl,
      DRAIN_TIMEOUT_SECONDS: '4800',
      HEARTBEAT_TIMEOUT_SECONDS: '600',
      RECHECK_INTERVAL_SECONDS: '1',
    });
    expect(drain.Timeout).toBe(60);
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: deployment.outputs.queueUrl,
      AttributeNames: ['QueueArn'],
    }));
    const mappings = await lambdaApi.listEventSourceMappings(drain.FunctionName);
    expect(mappings).toEqual([expect.objectContaining({
      EventSourceArn: Attributes.QueueArn,
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    })]);
  });
});

test('the schedule invokes the autoscaler every minute; an on-demand pool has no spot warning rule', async () => {
  // The spot rule and its queue target are covered by test/constructs/worker-drain.test.ts.
  const rules = (await events.listRules()).filter((r) => r.Name.startsWith(`${STACK_NAME}-`));
  expect(rules).toHaveLength(1);
  const [schedule] = rules;
  expect(schedule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });

  const autoscalerArn = (await lambdaApi.getFunctionConfiguration(deployment.outputs.autoscalerFunctionName)).FunctionArn;
  expect(await events.listTargets(schedule.Name)).toEqual([
    expect.objectContaining({ Arn: autoscalerArn, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }),
  ]);
});

/**
 * Pins down the gaps listed at the top of this file, so that the docs stay true: if a moto upgrade
 * starts creating one of these, this test fails and the list (and test/integ/README.md) should shrink.
 */
test('known moto gaps: no lifecycle hook, no queue policies, AZRebalance not suspended', async () => {
  expect(resourcesOfType('AWS::AutoScaling::LifecycleHook')).toHaveLength(1);
  const { LifecycleHooks = [] } = await autoscaling.send(new DescribeLifecycleHooksCommand({
    AutoScalingGroupName: deployment.outputs.asgName,
  }));
  expect(LifecycleHooks).toEqual([]);

  expect(resourcesOfType('AWS::SQS::QueuePolicy')).toHaveLength(2);
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: deployment.outputs.queueUrl,
    AttributeNames: ['Policy'],
  }));
  expect(Attributes.Policy).toBeUndefined();

  expect(resourcesOfType('Custom::AWS')).toHaveLength(1);
  expect((await group()).SuspendedProcesses ?? []).toEqual([]);

  const autoscaler = await lambdaApi.getFunctionConfiguration(deployment.outputs.autoscalerFunctionName);
  const [fnId] = resourcesOfType('AWS::Lambda::Function').filter((id) => id.startsWith('PoolAutoscaler'));
  expect(deployment.template.Resources[fnId].Properties).toMatchObject({ Architectures: ['arm64'] });
  expect(autoscaler.Architectures).toEqual(['x86_64']);
});
