import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SpaceliftWorkerPool } from '../../lib';
import { poolStack } from '../support/pool-stack';

describe('termination drain', () => {
  const { stack, build } = poolStack();
  const pool = build();
  const template = Template.fromStack(stack);
  const logicalId = (construct: any) => stack.getLogicalId(construct.node.defaultChild);

  test('a TERMINATING hook with a heartbeat timeout sends to the queue, after its role policy exists', () => {
    const hooks = template.findResources('AWS::AutoScaling::LifecycleHook');
    expect(Object.keys(hooks)).toHaveLength(1);
    const [hook] = Object.values<any>(hooks);
    expect(hook.Properties).toMatchObject({
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
      HeartbeatTimeout: 600,
      NotificationTargetARN: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] },
    });
    // AWS checks the publish permission when the hook is created, so the hook must wait for the policy.
    const roleId = hook.Properties.RoleARN['Fn::GetAtt'][0];
    expect(hook.DependsOn).toEqual(expect.arrayContaining([roleId, expect.stringMatching(/DefaultPolicy/)]));
    // The notification role is its own role, trusted by Auto Scaling only, and may only send to the queue.
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'autoscaling.amazonaws.com' } })] },
    });
    const policy = Object.values<any>(template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: roleId }] },
    }))[0];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([expect.objectContaining({
      Action: expect.arrayContaining(['sqs:SendMessage']),
      Resource: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] },
    })]);
  });

  test('the queue and its DLQ are encrypted and refuse non-TLS access; redrive is bounded', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(pool.drain.deadLetterQueue), 'Arn'] }, maxReceiveCount: 15 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    for (const queue of [pool.drain.queue, pool.drain.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]) },
      });
    }
  });

  test('the drain function reads the queue in batches with partial failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Timeout: 60,
      Environment: { Variables: Match.objectLike({
        QUEUE_URL: { Ref: logicalId(pool.drain.queue) },
        DRAIN_TIMEOUT_SECONDS: '4800',
        HEARTBEAT_TIMEOUT_SECONDS: '600',
        RECHECK_INTERVAL_SECONDS: '60',
        SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
        SPACELIFT_WORKER_POOL_ID: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
      }) },
    });
  });

  test('the drain role completes and heartbeats lifecycle actions of this group only, and reads the API key', () => {
    const role = stack.getLogicalId(pool.drain.function.role!.node.defaultChild as any);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const lifecycle = statements.find((s) => ([] as string[]).concat(s.Action).includes('autoscaling:CompleteLifecycleAction'));
    expect(lifecycle.Action).toEqual(['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat']);
    expect(JSON.stringify(lifecycle.Resource)).toContain(`autoScalingGroupName/",{"Ref":"${stack.getLogicalId(pool.autoScalingGroup.node.defaultChild as any)}"}`);
    expect(statements.some((s) => ([] as string[]).concat(s.Action).includes('ssm:GetParameter'))).toBe(true);
    // Nothing of the drain role acts on "*" except read-only calls.
    const onStar = statements.filter((s) => s.Resource === '*');
    expect(onStar).toEqual([]);
  });

  test('spot interruption warnings reach the queue; rebalance recommendations only with capacityRebalance', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] } })],
    });
    const { stack: spotStack, build: buildSpot } = poolStack({
      instanceTypes: [new ec2.InstanceType('m6i.large')], onDemandPercentageAboveBaseCapacity: 0, capacityRebalance: true,
    });
    buildSpot();
    Template.fromStack(spotStack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'] },
    });
  });

  test('instance refresh replaces protected workers, launching before draining', () => {
    const group = Object.values<any>(template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(group.UpdatePolicy.AutoScalingInstanceRefresh).toMatchObject({
      Strategy: 'Rolling',
      Preferences: expect.objectContaining({
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 110,
        ScaleInProtectedInstances: 'Refresh',
        SkipMatching: true,
      }),
    });
  });
});

test('a launcher-only change makes a new launch template version, which the group follows and refreshes', () => {
  const launchTemplateOf = (runTimeoutMinutes: number) => {
    const { stack, props } = poolStack();
    new SpaceliftWorkerPool(stack, 'Pool', { ...props, launcher: { runTimeout: Duration.minutes(runTimeoutMinutes) } });
    const t = Template.fromStack(stack);
    const group = Object.values<any>(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    const lt = Object.values<any>(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    return { group, userData: JSON.stringify(lt.Properties.LaunchTemplateData.UserData) };
  };
  const before = launchTemplateOf(70);
  const after = launchTemplateOf(120);
  // New user data means a new version of the same template resource...
  expect(after.userData).not.toEqual(before.userData);
  // ...the group always points at the latest version, so CloudFormation updates it, and the update
  // is an instance refresh that drains each replaced worker through the hook.
  expect(after.group.Properties.LaunchTemplate.Version).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PoolLaunchTemplate/), 'LatestVersionNumber'] });
  expect(after.group.UpdatePolicy.AutoScalingInstanceRefresh.Preferences.ScaleInProtectedInstances).toBe('Refresh');
});

describe('drain options', () => {
  test('a budget beyond the hook global timeout fails at synth, naming the setting', () => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', {
      ...props, drain: { heartbeatTimeout: Duration.minutes(5), recheckInterval: Duration.minutes(1), drainTimeout: Duration.hours(10) },
    })).toThrow(/invalid "drain.drainTimeout": .*exceeds the hook's global timeout/);
  });

  test('a re-check interval the heartbeat timeout cannot cover fails at synth', () => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', {
      ...props, drain: { heartbeatTimeout: Duration.minutes(3), recheckInterval: Duration.minutes(2) },
    })).toThrow(/invalid "drain.recheckInterval"/);
  });

  test('a budget shorter than the default run timeout is warned about', () => {
    const { stack, props } = poolStack();
    new SpaceliftWorkerPool(stack, 'Pool', { ...props, drain: { drainTimeout: Duration.minutes(30) } });
    Annotations.fromStack(stack).hasWarning('/Test/Pool/Drain', Match.stringLikeRegexp('shorter than Spacelift\'s default 70-minute run timeout'));
  });

  test('checkpoints must end at 100', () => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, instanceRefresh: { checkpointPercentages: [50, 90] } }))
      .toThrow(/invalid "instanceRefresh.checkpointPercentages"/);
  });
});
