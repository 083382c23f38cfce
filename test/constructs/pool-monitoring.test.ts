import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AUTOSCALER_SERVICE,
  AutoscalerMetric,
  DRAIN_SERVICE,
  DrainMetric,
  METRICS_DIMENSION,
  METRICS_NAMESPACE,
} from '../../lambda/shared/metrics';
import { SpaceliftWorkerPool, type SpaceliftWorkerPoolProps } from '../../lib';
import { poolStack } from '../support/pool-stack';

/** A pool with monitoring on (and an SNS topic unless `topic` is false), and its template. */
function synth(overrides: Partial<SpaceliftWorkerPoolProps> = {}, options: { topic?: boolean; dashboard?: boolean } = {}) {
  const { stack, props } = poolStack();
  const topic = options.topic === false ? undefined : new sns.Topic(stack, 'Alarms');
  const pool = new SpaceliftWorkerPool(stack, 'Pool', { ...props, ...overrides, monitoring: { alarmTopic: topic, dashboard: options.dashboard } });
  return { stack, pool, topic, template: Template.fromStack(stack) };
}

const groupRef = (pool: SpaceliftWorkerPool) => Stack.of(pool).resolve(pool.autoScalingGroup.autoScalingGroupName);
const handlerDimensions = (pool: SpaceliftWorkerPool, service: string) => [
  { Name: METRICS_DIMENSION, Value: groupRef(pool) },
  { Name: 'service', Value: service },
];

/** What Powertools writes for one metric of a handler, as the functions configure it. */
function emf(service: string): { namespace: string; dimensions: string[][]; values: Record<string, unknown> } {
  const lines: string[] = [];
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
  (metrics as unknown as { console: { log: (line: string) => void } }).console = { log: (line) => lines.push(line) };
  metrics.addDimension(METRICS_DIMENSION, 'the-group');
  metrics.addMetric('Probe', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  const blob = JSON.parse(lines[0]);
  return { namespace: blob._aws.CloudWatchMetrics[0].Namespace, dimensions: blob._aws.CloudWatchMetrics[0].Dimensions, values: blob };
}

describe('metric methods', () => {
  test('read the namespace and the exact dimension set Powertools publishes for each handler', () => {
    const { pool, stack } = synth();
    for (const [service, metric] of [
      [AUTOSCALER_SERVICE, pool.metricPendingRuns()],
      [DRAIN_SERVICE, pool.metricDrainBudgetExhausted()],
    ] as const) {
      const published = emf(service);
      expect(metric.namespace).toBe(published.namespace);
      expect(published.dimensions).toEqual([Object.keys(metric.dimensions!)]);
      expect(published.values).toMatchObject({ service, [METRICS_DIMENSION]: 'the-group' });
      expect(stack.resolve(metric.dimensions)).toEqual({ service, [METRICS_DIMENSION]: groupRef(pool) });
    }
  });

  test('each names its metric, with a statistic that fits a gauge or a count, and takes MetricOptions', () => {
    const { pool } = synth();
    const cases = [
      [pool.metricPendingRuns(), AutoscalerMetric.PendingRuns, 'Maximum'],
      [pool.metricBusyWorkers(), AutoscalerMetric.BusyWorkers, 'Maximum'],
      [pool.metricIdleWorkers(), AutoscalerMetric.IdleWorkers, 'Maximum'],
      [pool.metricLaunchingInstances(), AutoscalerMetric.LaunchingInstances, 'Maximum'],
      [pool.metricRegisteredWorkers(), AutoscalerMetric.RegisteredWorkers, 'Maximum'],
      [pool.metricPoolWorkers(), AutoscalerMetric.PoolWorkers, 'Maximum'],
      [pool.metricDrainedInstances(), AutoscalerMetric.DrainedInstances, 'Maximum'],
      [pool.metricRetainedInstances(), AutoscalerMetric.RetainedInstances, 'Maximum'],
      [pool.metricStrayInstances(), AutoscalerMetric.StrayInstances, 'Maximum'],
      [pool.metricFailedReads(), AutoscalerMetric.FailedReads, 'Sum'],
      [pool.metricAutoscalerErrors(), AutoscalerMetric.Errors, 'Sum'],
      [pool.metricDrainsStarted(), DrainMetric.DrainsStarted, 'Sum'],
      [pool.metricDrainRechecks(), DrainMetric.Requeued, 'Sum'],
      [pool.metricDrainBudgetExhausted(), DrainMetric.CompletedBudgetExhausted, 'Sum'],
      [pool.metricDrainErrors(), DrainMetric.Errors, 'Sum'],
    ] as const;
    for (const [metric, name, statistic] of cases) {
      expect({ name: metric.metricName, statistic: metric.statistic, period: metric.period.toSeconds() }).toEqual({ name, statistic, period: 300 });
    }
    const custom = pool.metricPendingRuns({ period: Duration.minutes(1), statistic: 'p90' });
    expect([custom.period.toSeconds(), custom.statistic]).toEqual([60, 'p90']);
  });

  test('the group\'s, and the dead-letter queue\'s, come from their AWS namespaces', () => {
    const { pool, stack } = synth();
    const desired = pool.metricDesiredCapacity();
    expect([desired.namespace, desired.metricName, desired.statistic]).toEqual(['AWS/AutoScaling', 'GroupDesiredCapacity', 'Maximum']);
    expect(stack.resolve(desired.dimensions)).toEqual({ AutoScalingGroupName: groupRef(pool) });
    expect(pool.metricInServiceInstances().metricName).toBe('GroupInServiceInstances');
    const dlq = pool.metricDeadLetterMessages();
    expect([dlq.namespace, dlq.metricName, dlq.statistic]).toEqual(['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum']);
    expect(stack.resolve(dlq.dimensions)).toEqual({ QueueName: stack.resolve(pool.drain.deadLetterQueue.queueName) });
  });
});

describe('alarms', () => {
  test('none without monitoring', () => {
    const { stack, build } = poolStack();
    const pool = build();
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(pool.alarms).toEqual([]);
    expect(pool.dashboard).toBeUndefined();
  });

  test('twelve alarms, each notifying the topic when it fires and when it recovers, none with a fixed name', () => {
    const { template, topic, pool, stack } = synth();
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(12);
    expect(pool.alarms).toHaveLength(12);
    const occurrences = alarms.filter((alarm) => alarm.Properties.MetricName !== 'Invocations');
    expect(occurrences).toHaveLength(11);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: [stack.resolve(topic!.topicArn)],
        OKActions: [stack.resolve(topic!.topicArn)],
        Threshold: 1,
        AlarmDescription: expect.stringContaining('Test/Pool'),
      });
      expect(alarm.Properties.AlarmName).toBeUndefined();
    }
    for (const alarm of occurrences) {
      expect(alarm.Properties).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    }
  });

  test.each([
    ['the default 1-minute schedule', undefined, 3],
    ['a 30-minute schedule', Duration.minutes(30), 7],
  ])('an autoscaler that is not invoked on %s fires, since every other alarm reads what its ticks publish', (_name, scheduleRate, periods) => {
    const { template, pool, stack } = synth({ autoscaling: { scheduleRate } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(pool.autoscaler!.functionName) }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: periods,
      TreatMissingData: 'breaching',
    });
  });

  test('without a topic the alarms have no action', () => {
    const { template } = synth({}, { topic: false });
    for (const alarm of Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.OKActions).toBeUndefined();
    }
  });

  test.each([
    ['autoscaler errors', AUTOSCALER_SERVICE, AutoscalerMetric.Errors, 'Sum', 3, 3],
    ['failed worker-list reads', AUTOSCALER_SERVICE, AutoscalerMetric.FailedReads, 'Sum', 3, 3],
    ['instances left drained past the 15-minute reclaim time', AUTOSCALER_SERVICE, AutoscalerMetric.DrainedInstances, 'Minimum', 4, 4],
    ['an instance Auto Scaling retained because the drain did not complete its termination', AUTOSCALER_SERVICE,
      AutoscalerMetric.RetainedInstances, 'Maximum', 1, 1],
    ['a drain out of budget', DRAIN_SERVICE, DrainMetric.CompletedBudgetExhausted, 'Sum', 1, 1],
  ])('%s', (_name, service, metricName, statistic, evaluationPeriods, datapoints) => {
    const { template, pool } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Dimensions: handlerDimensions(pool, service),
      Statistic: statistic,
      Period: 300,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: datapoints === evaluationPeriods ? Match.absent() : datapoints,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('the drain dead-letter queue holding any message', () => {
    const { template, pool, stack } = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(pool.drain.deadLetterQueue.queueName) }],
      Statistic: 'Maximum',
      EvaluationPeriods: 1,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('dead-letter queue'),
    });
  });

  test('capacity that does not arrive: desired above in service all along three 5-minute periods', () => {
    const { template, pool } = synth();
    const group = { Name: 'AutoScalingGroupName', Value: groupRef(pool) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'desired - inService', ReturnData: true }),
        Match.objectLike({ Id: 'desired', MetricStat: { Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupDesiredCapacity', Dimensions: [group] }, Period: 300, Stat: 'Minimum' }, ReturnData: false }),
        Match.objectLike({ Id: 'inService', MetricStat: { Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupInServiceInstances', Dimensions: [group] }, Period: 300, Stat: 'Maximum' }, ReturnData: false }),
      ]),
      EvaluationPeriods: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('errors and throttles of both functions', () => {
    const { template, pool, stack } = synth();
    const cases = [[pool.autoscaler!, 2], [pool.drain.function, 1]] as const;
    for (const [fn, datapoints] of cases) {
      for (const metricName of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(fn.functionName) }],
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 3,
          DatapointsToAlarm: datapoints,
          Threshold: 1,
          TreatMissingData: 'notBreaching',
        });
      }
    }
  });

  test.each([
    ['0 (reclaims off)', Duration.seconds(0), 4],
    ['1 hour', Duration.hours(1), 13],
    ['a day, capped at CloudWatch\'s one-day evaluation range', Duration.days(1), 288],
  ])('the drained-instances alarm waits out a reclaim time of %s plus a period', (_name, drainedReclaimTime, periods) => {
    const { template } = synth({ autoscaling: { drainedReclaimTime } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: AutoscalerMetric.DrainedInstances, EvaluationPeriods: periods });
  });

  test('without the autoscaler, only the alarms on the drain and the group', () => {
    const { template } = synth({ autoscaling: { enabled: false } });
    const names = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.MetricName ?? 'capacity').sort();
    expect(names).toEqual(['ApproximateNumberOfMessagesVisible', DrainMetric.CompletedBudgetExhausted, 'Errors', 'Throttles', 'capacity']);
  });
});

describe('dashboard', () => {
  /** The dashboard's widgets, with every reference to a resource or the region rendered as "REF". */
  function widgets(template: Template): any[] {
    const [dashboard] = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBeUndefined();
    const parts: unknown[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
    return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'REF')).join('')).widgets;
  }
  const metricNames = (widget: any): string[] => widget.properties.metrics.map((m: unknown[]) => m[1]);

  test('opt-in: queue against capacity, drains by outcome, errors, the licence peak and every alarm\'s state, with a generated name', () => {
    const { template, pool } = synth({}, { dashboard: true });
    expect(pool.dashboard).toBeDefined();
    const byTitle = Object.fromEntries(widgets(template).map((w) => [w.properties.title, w]));
    expect(Object.keys(byTitle)).toEqual(['Queue and capacity', 'Drains', 'Autoscaler actions', 'Errors',
      'Workers Spacelift counts: daily peak (licence)', 'Alarms']);
    expect(metricNames(byTitle['Queue and capacity'])).toEqual(['PendingRuns', 'BusyWorkers', 'IdleWorkers', 'LaunchingInstances',
      'GroupDesiredCapacity', 'GroupInServiceInstances']);
    expect(metricNames(byTitle.Drains)).toEqual(['DrainsStarted', 'Requeued', 'CompletedIdle', 'CompletedNoWorker',
      'CompletedBudgetExhausted', 'ActionGone', 'SpotDrains']);
    expect(metricNames(byTitle['Autoscaler actions'])).toEqual(['ScaledOut', 'Terminated', 'DrainSkippedBusy', 'DrainedReclaimed', 'RetainedReleased',
      'StraysReaped', 'LostReclaimed']);
    expect(metricNames(byTitle.Errors)).toEqual(['Errors', 'FailedReads', 'Errors', 'Errors', 'Throttles', 'Errors', 'Throttles',
      'ApproximateNumberOfMessagesVisible']);
    // Daily maxima over a month, whatever range the dashboard shows.
    const licence = byTitle['Workers Spacelift counts: daily peak (licence)'];
    expect(licence.properties).toMatchObject({ start: '-P30D', period: 86400 });
    expect(licence.properties.metrics[0]).toEqual(['CdkEc2WorkerPool', 'PoolWorkers', 'AutoScalingGroupName', 'REF', 'service', AUTOSCALER_SERVICE,
      expect.objectContaining({ period: 86400, stat: 'Maximum' })]);
    expect(byTitle.Alarms.properties.alarms).toHaveLength(12);
  });

  test('without the autoscaler it graphs the group and the drains only', () => {
    const { template } = synth({ autoscaling: { enabled: false } }, { dashboard: true });
    const titles = widgets(template).map((w) => w.properties.title);
    expect(titles).toEqual(['Queue and capacity', 'Drains', 'Errors', 'Workers Spacelift counts: daily peak (licence)', 'Alarms']);
    expect(metricNames(widgets(template)[0])).toEqual(['GroupDesiredCapacity', 'GroupInServiceInstances']);
  });
});
