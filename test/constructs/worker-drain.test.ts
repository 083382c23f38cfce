import { CfnParameter, Duration } from 'aws-cdk-lib';
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
      // An action the drain never completes expires as ABANDON, which the group's policy turns into a retained
      // instance instead of a terminated one (its run goes on).
      DefaultResult: 'ABANDON',
      HeartbeatTimeout: 600,
      NotificationTargetARN: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] },
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      InstanceLifecyclePolicy: { RetentionTriggers: { TerminateHookAbandon: 'retain' } },
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
    // Nothing of the drain role acts on "*" but the launch-time describe (no resource-level permissions).
    const onStar = statements.filter((s) => s.Resource === '*').flatMap((s) => ([] as string[]).concat(s.Action));
    expect(onStar).toEqual(['ec2:DescribeInstances']);
  });

  test('the drain function may loop through its own queue: Lambda must not stop it after 16 re-checks', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(functions[logicalId(pool.drain.function)].Properties.RecursiveLoop).toBe('Allow');
    // Only the drain loops; the autoscaler keeps Lambda's default protection.
    expect(functions[logicalId(pool.autoscaler)].Properties.RecursiveLoop).toBeUndefined();
  });

  test('the drain has a concurrent execution reserved per instance, and its queue never invokes it beyond that', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(pool.drain.function)];
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(10);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(pool.drain.queue), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  test('an on-demand-only pool gets no spot warning rule', () => {
    const rules = Object.values<any>(template.findResources('AWS::Events::Rule'));
    expect(rules.filter((r) => r.Properties.EventPattern !== undefined)).toEqual([]);
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

describe('spot warnings', () => {
  const spotRules = (overrides: Parameters<typeof poolStack>[0]) => {
    const { stack, build } = poolStack({ instanceTypes: [new ec2.InstanceType('m6i.large'), new ec2.InstanceType('m5.large')], ...overrides });
    const pool = build();
    const rules = Object.values<any>(Template.fromStack(stack).findResources('AWS::Events::Rule'))
      .filter((r) => r.Properties.EventPattern !== undefined);
    return { rules, queueId: stack.getLogicalId(pool.drain.queue.node.defaultChild as any) };
  };

  test('a mixed pool that stays on demand gets no rule', () => {
    expect(spotRules({}).rules).toEqual([]);
    expect(spotRules({ onDemandPercentageAboveBaseCapacity: 100, onDemandBaseCapacity: 2 }).rules).toEqual([]);
  });

  test('a pool that can run spot drains on interruption warnings, filtered to EC2 spot warnings', () => {
    const { rules, queueId } = spotRules({ onDemandPercentageAboveBaseCapacity: 50 });
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern).toEqual({ 'source': ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] });
    expect(rules[0].Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } })]);
  });

  test('rebalance recommendations drain only with capacityRebalance', () => {
    const { rules } = spotRules({ onDemandPercentageAboveBaseCapacity: 0, capacityRebalance: true });
    expect(rules.map((r) => r.Properties.EventPattern['detail-type'])).toEqual([
      ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'],
    ]);
  });

  test('drainOnSpotInterruption: false turns the rule off', () => {
    expect(spotRules({ onDemandPercentageAboveBaseCapacity: 0, drain: { drainOnSpotInterruption: false } }).rules).toEqual([]);
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

  test('a heartbeat timeout that a throttled or failed receive can outlive fails at synth, naming the heartbeat timeout', () => {
    // 60 s re-check + 360 s visibility timeout + 120 s margin = 540 s >= 300 s.
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, drain: { heartbeatTimeout: Duration.minutes(5) } }))
      .toThrow(/invalid "drain.heartbeatTimeout": visibilityTimeout \(360 s\) \+ recheckInterval \(60 s\).*throttled or fails once/);
  });

  test('the reserve follows maxSize, at least the two executions an event source needs', () => {
    const reserve = (maxSize: number) => {
      const { stack, build } = poolStack({ maxSize });
      const pool = build();
      return Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(pool.drain.function.node.defaultChild as any)]
        .Properties.ReservedConcurrentExecutions;
    };
    expect(reserve(25)).toBe(25);
    expect(reserve(1)).toBe(2);
  });

  test('an account that cannot spare the reserve can turn it off, with a warning; the queue still caps invocations', () => {
    const { stack, build } = poolStack({ maxSize: 25, drain: { reserveConcurrency: false } });
    const pool = build();
    const template = Template.fromStack(stack);
    const fnId = stack.getLogicalId(pool.drain.function.node.defaultChild as any);
    expect(template.findResources('AWS::Lambda::Function')[fnId].Properties.ReservedConcurrentExecutions).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId }, ScalingConfig: { MaximumConcurrency: 25 },
    });
    Annotations.fromStack(stack).hasWarning('/Test/Pool/Drain', Match.stringLikeRegexp('reserveConcurrency is false'));
  });

  test('a maxSize unknown at synth fails, since the reserve is sized from it', () => {
    const { stack, props } = poolStack();
    const maxSize = new CfnParameter(stack, 'MaxSize', { type: 'Number' }).valueAsNumber;
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, maxSize })).toThrow(/invalid "maxSize": must be known at synth/);
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
