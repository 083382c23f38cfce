import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_LOOP_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_POLL_WHEN, DEFAULT_SCHEDULE_SECONDS, loadAutoscalerConfig } from '../../lambda/autoscaler/config';
import { DEFAULT_SCALING_CONFIG } from '../../lambda/core/config';
import { REGISTERED_TAG_KEY } from '../../lambda/core/registration-tag';
import { DemandSignal, PollingMode, ScaleDownDelay, SpaceliftWorkerPool } from '../../lib';
import { poolStack } from '../support/pool-stack';

describe('autoscaler', () => {
  const { stack, build } = poolStack();
  const pool = build();
  const template = Template.fromStack(stack);
  const fnId = stack.getLogicalId(pool.autoscaler!.node.defaultChild as any);
  const groupId = stack.getLogicalId(pool.autoScalingGroup.node.defaultChild as any);

  test('runs alone, is never retried, and loops within its timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Timeout: 50 + 30 + 5 * 30 + 30,
      Environment: { Variables: Match.objectLike({
        ASG_NAME: { Ref: groupId },
        POLL_INTERVAL_SECONDS: '15',
        LOOP_SECONDS: '50',
        SCHEDULE_SECONDS: '60',
        MIN_IDLE: '0',
        DEMAND_SIGNAL: 'pendingRuns',
        MAX_TERMINATE_PER_TICK: '5',
        MAX_STRAYS_PER_TICK: '1',
        REGISTRATION_GRACE_SECONDS: '600',
        DRAINED_RECLAIM_SECONDS: '900',
        SCALE_DOWN_DELAY: 'fixed:0', POLL_WHEN: 'needed', BUSY_FINISHING_WITHIN_SECONDS: '90', METRICS: 'alarms',
        MAX_CREATE_PER_TICK: Match.absent(),
      }) },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
  });

  test('mutating actions are scoped to this group; only describes use "*"', () => {
    const role = stack.getLogicalId(pool.autoscaler!.role!.node.defaultChild as any);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const onStar = statements.filter((s) => s.Resource === '*').flatMap((s) => ([] as string[]).concat(s.Action));
    expect(onStar.sort()).toEqual(['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances']);
    const scaling = statements.find((s) => ([] as string[]).concat(s.Action).includes('autoscaling:SetDesiredCapacity'));
    expect(scaling.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(JSON.stringify(scaling.Resource)).toContain(`{"Ref":"${groupId}"}`);
    const all = statements.flatMap((s) => ([] as string[]).concat(s.Action));
    expect(all).not.toContain('autoscaling:DetachInstances');
    expect(all).not.toContain('ec2:TerminateInstances');
  });

  test('it may only write the registration tag, and only on this group\'s instances', () => {
    const role = stack.getLogicalId(pool.autoscaler!.role!.node.defaultChild as any);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const tagging = statements.filter((s) => ([] as string[]).concat(s.Action).includes('ec2:CreateTags'));
    expect(tagging).toHaveLength(1);
    expect(tagging[0].Action).toBe('ec2:CreateTags');
    expect(JSON.stringify(tagging[0].Resource)).toMatch(/:instance\/\*"?\]?/);
    expect(tagging[0].Condition).toEqual({
      'StringEquals': { 'ec2:ResourceTag/aws:autoscaling:groupName': { Ref: groupId } },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [REGISTERED_TAG_KEY] },
    });
  });

  test.each([
    [{}, 'true'],
    [{ powerOffOnError: true }, 'true'],
    [{ powerOffOnError: false }, 'false'],
  ])('strays are reaped unless failed instances are kept for debugging (%j)', (overrides, reap) => {
    const { stack: s2, props } = poolStack();
    const p2 = new SpaceliftWorkerPool(s2, 'Pool', { ...props, ...overrides });
    const fn = Template.fromStack(s2).findResources('AWS::Lambda::Function');
    const own = fn[s2.getLogicalId(p2.autoscaler!.node.defaultChild as any)];
    expect(own.Properties.Environment.Variables.REAP_STRAYS).toBe(reap);
  });

  test('options reach the function environment', () => {
    const { stack: s2, props } = poolStack();
    const p2 = new SpaceliftWorkerPool(s2, 'Pool', {
      ...props,
      autoscaling: {
        pollInterval: Duration.seconds(10),
        minIdle: 1,
        idleWorkersWindows: [{ timezone: 'Europe/Berlin', daysOfWeek: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', minIdle: 3 }],
        demandSignal: DemandSignal.SCHEDULABLE_RUNS,
        maxCreatePerTick: 4,
        maxTerminatePerTick: 2,
        scaleDownDelay: ScaleDownDelay.constant(Duration.minutes(5)),
        pollingMode: PollingMode.WHILE_QUEUED,
        busyWorkerFinishingWithin: Duration.seconds(0),
        detailedMetrics: true,
      },
    });
    Template.fromStack(s2).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Timeout: 50 + 30 + 60 + 30,
      Environment: { Variables: Match.objectLike({
        POLL_INTERVAL_SECONDS: '10', MIN_IDLE: '1', DEMAND_SIGNAL: 'schedulableRunsCount', MAX_CREATE_PER_TICK: '4',
        MAX_TERMINATE_PER_TICK: '2', SCALE_DOWN_DELAY: 'fixed:300', POLL_WHEN: 'queued', BUSY_FINISHING_WITHIN_SECONDS: '0', METRICS: 'all',
        SCHEDULE: JSON.stringify([{ timezone: 'Europe/Berlin', daysOfWeek: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', minIdle: 3 }]),
      }) },
    });
    expect(p2.autoscaler).toBeDefined();
  });

  test('the dashboard plots the gauges, so it turns detailed metrics on', () => {
    const { stack: s2, props } = poolStack();
    new SpaceliftWorkerPool(s2, 'Pool', { ...props, monitoring: { dashboard: true } });
    Template.fromStack(s2).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'spacelift-autoscaler', METRICS: 'all' }) },
    });
  });

  test('a long schedule rate keeps the polling loop within Lambda\'s 15-minute limit', () => {
    const { stack: s2, props } = poolStack();
    new SpaceliftWorkerPool(s2, 'Pool', { ...props, autoscaling: { scheduleRate: Duration.minutes(30) } });
    Template.fromStack(s2).hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ LOOP_SECONDS: String(900 - 210), SCHEDULE_SECONDS: '1800' }) },
    });
  });

  test('disabled autoscaling leaves the drain in place', () => {
    const { stack: s2, props } = poolStack();
    const p2 = new SpaceliftWorkerPool(s2, 'Pool', { ...props, autoscaling: { enabled: false } });
    expect(p2.autoscaler).toBeUndefined();
    const t2 = Template.fromStack(s2);
    t2.resourceCountIs('AWS::AutoScaling::LifecycleHook', 1);
    expect(Object.values<any>(t2.findResources('AWS::Events::Rule')).every((r) => r.Properties.ScheduleExpression === undefined)).toBe(true);
  });

  test.each<[string, object, RegExp]>([
    ['a poll interval below 5 s', { pollInterval: Duration.seconds(2) }, /invalid "autoscaling.pollInterval": must be an integer between 5 and 60/],
    ['a bad time zone', { idleWorkersWindows: [{ timezone: 'Mars/Olympus', daysOfWeek: [1], start: '08:00', end: '18:00', minIdle: 1 }] },
      /invalid "autoscaling.idleWorkersWindows\[0\]"/],
    ['a bad window time', { idleWorkersWindows: [{ timezone: 'UTC', daysOfWeek: [1], start: '8am', end: '18:00', minIdle: 1 }] },
      /invalid "autoscaling.idleWorkersWindows\[0\]"/],
    ['a negative minIdle', { minIdle: -1 }, /invalid "autoscaling.minIdle"/],
    ['zero maxCreatePerTick', { maxCreatePerTick: 0 }, /invalid "autoscaling.maxCreatePerTick"/],
    ['a busy worker finishing within more than an hour', { busyWorkerFinishingWithin: Duration.hours(2) },
      /invalid "autoscaling.busyWorkerFinishingWithin": must be an integer between 0 and 3600/],
    ['a break-even maximum below its minimum', { scaleDownDelay: ScaleDownDelay.breakEven({ minimum: Duration.minutes(5), maximum: Duration.minutes(1) }) },
      /invalid "autoscaling.scaleDownDelay"/],
    ['so many terminations per tick that Lambda cannot finish them', { maxTerminatePerTick: 40 }, /invalid "autoscaling.maxTerminatePerTick".*15-minute/],
  ])('%s fails at synth', (_name, autoscaling, message) => {
    const { stack: s2, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(s2, 'Pool', { ...props, autoscaling })).toThrow(message);
  });
});

describe('defaults come from the function\'s own DEFAULT_SCALING_CONFIG', () => {
  /** The autoscaler's environment as the function sees it, with CloudFormation references as placeholders. */
  const autoscalerEnvironment = (template: Template): Record<string, string> => {
    // Plain JSON, no Match: the second test builds its template with a separately loaded aws-cdk-lib.
    const [fn] = Object.values<any>(template.toJSON().Resources)
      .filter((r) => r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'spacelift-autoscaler');
    return Object.fromEntries(Object.entries<unknown>(fn.Properties.Environment.Variables)
      .map(([name, value]) => [name, typeof value === 'string' ? value : 'resolved-at-deploy']));
  };

  test('the function reads back exactly its defaults from a pool with no autoscaling options', () => {
    const { stack, build } = poolStack();
    build();
    const config = loadAutoscalerConfig(autoscalerEnvironment(Template.fromStack(stack)));
    expect(config.scaling).toEqual(DEFAULT_SCALING_CONFIG);
    expect(config.pollIntervalSeconds).toBe(DEFAULT_POLL_INTERVAL_SECONDS);
    expect(config.loopSeconds).toBe(DEFAULT_LOOP_SECONDS);
    expect(config.scheduleSeconds).toBe(DEFAULT_SCHEDULE_SECONDS);
    expect(config.pollWhen).toBe(DEFAULT_POLL_WHEN);
  });

  test('the construct holds no copy of them: other defaults there become the construct\'s defaults', () => {
    jest.isolateModules(() => {
      jest.doMock('../../lambda/core/config', () => {
        const actual = jest.requireActual('../../lambda/core/config');
        const { ScaleDownDelay: PolicyDelay } = jest.requireActual('../../lambda/core/scale-down-delay');
        return {
          ...actual,
          DEFAULT_SCALING_CONFIG: {
            ...actual.DEFAULT_SCALING_CONFIG,
            minIdle: 2,
            demandSignal: 'schedulableRunsCount',
            maxCreatePerTick: 4,
            maxTerminatePerTick: 7,
            maxStraysPerTick: 3,
            registrationGraceSeconds: 420,
            drainedReclaimSeconds: 1200,
            scaleDownDelay: PolicyDelay.fixed(90),
            busyFinishingWithinSeconds: 45,
          },
        };
      });
      const isolated: typeof import('../support/pool-stack') = require('../support/pool-stack');
      const assertions: typeof import('aws-cdk-lib/assertions') = require('aws-cdk-lib/assertions');
      const { stack, build } = isolated.poolStack();
      build();
      expect(autoscalerEnvironment(assertions.Template.fromStack(stack))).toMatchObject({
        MIN_IDLE: '2',
        DEMAND_SIGNAL: 'schedulableRunsCount',
        MAX_CREATE_PER_TICK: '4',
        MAX_TERMINATE_PER_TICK: '7',
        MAX_STRAYS_PER_TICK: '3',
        REGISTRATION_GRACE_SECONDS: '420',
        DRAINED_RECLAIM_SECONDS: '1200',
        SCALE_DOWN_DELAY: 'fixed:90',
        BUSY_FINISHING_WITHIN_SECONDS: '45',
      });
    });
  });
});
