import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AutoscalerMetric, DrainMetric } from '../lambda/shared/metrics';
import type { WorkerPoolBase } from './worker-pool-metrics';

/**
 * Alarms, and optionally a dashboard, for a pool. Every alarm is described in the README's
 * Monitoring section; CloudFormation names them, and the dashboard, after the stack.
 */
export interface PoolMonitoringOptions {
  /**
   * The topic notified when an alarm fires and when it recovers.
   * @default - no notification: the alarms only change state; `pool.alarms` takes other actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Adds a CloudWatch dashboard of the pool: queue against capacity, drains, errors, the daily peak
   * of workers Spacelift bills, and the alarms' states. A dashboard is billed per month.
   * @default false
   * @see https://aws.amazon.com/cloudwatch/pricing/
   */
  readonly dashboard?: boolean;
}

/** Internal props of {@link PoolMonitoring}. */
export interface PoolMonitoringProps extends PoolMonitoringOptions {
  /** The pool watched. */
  readonly pool: WorkerPoolBase;
  /**
   * Seconds the autoscaler leaves an instance with only drained, idle workers before reclaiming it
   * (0: never).
   * @default - no autoscaler
   */
  readonly drainedReclaimSeconds?: number;
  /**
   * Seconds between two scheduled invocations of the autoscaler.
   * @default - no autoscaler
   */
  readonly scheduleSeconds?: number;
}

const PERIOD = Duration.minutes(5);
/** CloudWatch refuses an alarm whose evaluation periods span more than a day. */
const MAX_EVALUATION_PERIODS = Duration.days(1).toMinutes() / PERIOD.toMinutes();
/** A gauge of the moment, graphed every minute: the autoscaler publishes it at every tick. */
const GAUGE = { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) };

/**
 * The pool's alarms, each with a threshold, a missing-data rule and a description for the on-call,
 * and the optional dashboard. Internal: the pool exposes `alarms` and `dashboard`.
 */
export class PoolMonitoring extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard?: cloudwatch.Dashboard;
  private readonly topic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: PoolMonitoringProps) {
    super(scope, id);
    this.topic = props.alarmTopic;
    const { pool } = props;
    const path = pool.node.path;

    if (pool.autoscaler) {
      this.alarm('AutoscalerErrors', {
        metric: pool.metricAutoscalerErrors({ period: PERIOD }),
        // Every tick starts over from fresh snapshots, so one glitch heals itself; errors in each of three
        // periods do not.
        evaluationPeriods: 3,
        // Missing means no tick ran: the function's Errors and Throttles alarms cover that.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `The autoscaler of ${path} has failed in every 5 minutes for 15 minutes, so queued runs may get `
          + 'no instance and idle workers stay. Its log group has each error ("tick failed", failed calls): check the '
          + 'Spacelift API key (revoked, or missing Space:Read or Worker Pool:Drain Worker), Spacelift\'s status, and AWS throttling.',
      });
      this.alarm('FailedReads', {
        metric: pool.metricFailedReads({ period: PERIOD }),
        // One wrong worker list is a glitch the next tick corrects; 15 minutes of them freeze scale-in.
        evaluationPeriods: 3,
        // Sent only when not zero: missing means none (or no tick ran, which the function's alarms cover).
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `For 15 minutes Spacelift's worker list has omitted the workers of ${path}'s instances that had one, `
          + 'so the autoscaler removes nothing (scale-in is frozen, idle instances keep costing), or has listed fewer busy '
          + 'workers than Spacelift counts, so no stray, lost or retained instance is removed. Check Spacelift\'s status and '
          + 'the autoscaler log ("the pool snapshot looks wrong", "partial list"); the LostWorkerInstances metric counts the '
          + 'instances concerned.',
      });
      // Longer than the reclaim time (at least 15 minutes, also when reclaims are off) plus one period.
      const reclaimSeconds = Math.max(props.drainedReclaimSeconds ?? 0, Duration.minutes(15).toSeconds());
      const drainedPeriods = Math.min(Math.ceil(reclaimSeconds / PERIOD.toSeconds()) + 1, MAX_EVALUATION_PERIODS);
      const drainedMinutes = drainedPeriods * PERIOD.toMinutes();
      this.alarm('DrainedInstances', {
        // The fewest drained instances the ticks of each period saw. Zero is not sent, so a period with a drain that
        // ended counts when a tick saw it: the alarm needs drainedPeriods such periods in a row.
        metric: pool.metricDrainedInstances({ period: PERIOD, statistic: cloudwatch.Stats.MINIMUM }),
        evaluationPeriods: drainedPeriods,
        // Sent only when not zero: missing means none (or no tick ran, which the function's alarms cover).
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Instances of ${path} have had only drained workers for ${drainedMinutes} minutes: they take no run but `
          + 'are billed. Reclaims are off when autoscaling.drainedReclaimTime or autoscaling.maxStraysPerTick is 0; otherwise check the '
          + 'autoscaler log for reclaim errors, or a drained worker still finishing a long run (reclaimed once idle).',
      });
      this.alarm('RetainedInstances', {
        metric: pool.metricRetainedInstances({ period: PERIOD }),
        // One is already a termination the drain did not complete.
        evaluationPeriods: 1,
        // Sent only when not zero: missing means none (or no tick ran, which the function's alarms cover).
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Auto Scaling retained instances of ${path} (Terminating:Retained): the drain did not complete their `
          + 'termination in time, so instead of ending their runs AWS kept them, and they bill. Check the drain function\'s errors and '
          + 'its dead-letter queue. The autoscaler drains a retained instance\'s workers and asks for its termination once they are '
          + 'idle (RetainedReleased); one that no worker names (or with the autoscaler or repairs off), terminate by hand once its '
          + 'run is done: '
          + '`aws autoscaling terminate-instance-in-auto-scaling-group --instance-id <id> --no-should-decrement-desired-capacity`.',
      });
      this.alarm('AutoscalerNotRunning', {
        metric: pool.autoscaler.metricInvocations({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // It is invoked every scheduleRate (at most an hour), so a quarter of an hour without one is not a gap in the schedule.
        evaluationPeriods: Math.max(3, Math.ceil((props.scheduleSeconds ?? 0) / PERIOD.toSeconds()) + 1),
        // Lambda publishes nothing for a period without invocations: here missing data is the failure itself.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        alarmDescription: `The autoscaler of ${path} has not been invoked on its schedule, so nothing scales and no other `
          + 'alarm of the pool can see it (they all read what its ticks publish). Check that its EventBridge schedule rule is '
          + 'enabled and may invoke the function, and that the function exists.',
      });
      this.functionAlarms('Autoscaler', pool.autoscaler, path, {
        throttles: 'an invocation overran the next one (slow Spacelift or AWS calls), so ticks are skipped: check the '
          + 'function\'s Duration and the log for slow calls. With the webhook, a poke that arrives while another invocation '
          + 'runs is throttled too (the function has one reserved concurrent execution) and Lambda retries it, so throttles '
          + 'alone are then no fault',
        // The next scheduled invocation retries, so a lone overrun heals itself.
        datapointsToAlarm: 2,
      });
    }

    this.alarm('DeadLetterMessages', {
      metric: pool.metricDeadLetterMessages({ period: PERIOD }),
      // A single message is a termination that was not drained as designed.
      evaluationPeriods: 1,
      // SQS stops reporting a queue left empty for hours: no data is an empty queue.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Messages reached the drain dead-letter queue of ${path}: the drain function could not process a `
        + 'termination or spot warning after repeated receives, and the termination went ahead when the hook timed out, busy '
        + 'or not. Read the messages (pool.drain.deadLetterQueue) and the drain function\'s log for the error, fix it, then '
        + 'redrive or delete them.',
    });
    this.alarm('DrainBudgetExhausted', {
      metric: pool.metricDrainBudgetExhausted({ period: PERIOD }),
      // Each one is a worker terminated while busy: a run was likely killed.
      evaluationPeriods: 1,
      // Published only when a drain ends this way.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `A terminating instance of ${path} waited the whole drain budget (drain.drainTimeout) with a busy worker `
        + 'and was terminated anyway: a run was likely killed. Find it in the drain function\'s log ("budget") and in Spacelift; '
        + 'raise drain.drainTimeout if runs legitimately last longer.',
    });
    this.alarm('CapacityShortfall', {
      metric: new cloudwatch.MathExpression({
        // Positive only when, all period long, fewer instances were in service than the lowest desired capacity.
        expression: 'desired - inService',
        usingMetrics: {
          desired: pool.metricDesiredCapacity({ period: PERIOD, statistic: cloudwatch.Stats.MINIMUM }),
          inService: pool.metricInServiceInstances({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        },
        period: PERIOD,
        label: 'Desired capacity not in service',
      }),
      // A boot takes a few minutes; 15 minutes short is capacity that does not arrive.
      evaluationPeriods: 3,
      // The group reports its metrics every minute; none means no group, so nothing missing.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `For 15 minutes ${path} has had fewer instances in service than its desired capacity: capacity is not `
        + 'arriving. Check the group\'s activity history: insufficient capacity for the instance types in its zones, the EC2 '
        + 'vCPU quota, an AMI that is gone or not shared, or a volume key the Auto Scaling role cannot use.',
    });
    this.functionAlarms('Drain', pool.drain.function, path, {
      throttles: 'the queue never invokes it beyond its reserved concurrency, so check that nobody lowered that reserve; '
        + 'with drain.reserveConcurrency false, other functions are using up the account\'s concurrency',
      // Never expected, and a throttled drain risks a hook timing out.
      datapointsToAlarm: 1,
    });

    if (props.dashboard) {
      this.dashboard = this.buildDashboard(pool);
    }
  }

  private alarm(id: string, props: Omit<cloudwatch.AlarmProps, 'threshold'> & { threshold?: number }): cloudwatch.Alarm {
    // Most alarms count occurrences: one is enough.
    const alarm = new cloudwatch.Alarm(this, id, {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...props,
    });
    if (this.topic) {
      const action = new actions.SnsAction(this.topic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
    return alarm;
  }

  /** Errors and throttles of one of the pool's functions, over 3 periods. */
  private functionAlarms(name: string, fn: lambda.IFunction, path: string, options: { throttles: string; datapointsToAlarm: number }) {
    const what = `The ${name.toLowerCase()} function of ${path}`;
    const within = `in ${options.datapointsToAlarm} of the last 3 five-minute periods`;
    this.alarm(`${name}FunctionErrors`, {
      metric: fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      evaluationPeriods: 3,
      datapointsToAlarm: options.datapointsToAlarm,
      // Lambda reports nothing for a period without invocations: nothing failed.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} failed invocations ${within}. Its log group names the cause: a configuration error (logged `
        + 'at each cold start, naming the variable), a timeout, or a crash.',
    });
    this.alarm(`${name}FunctionThrottles`, {
      metric: fn.metricThrottles({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      evaluationPeriods: 3,
      datapointsToAlarm: options.datapointsToAlarm,
      // Lambda reports nothing for a period without invocations: nothing was throttled.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} was throttled ${within}: ${options.throttles}.`,
    });
  }

  private buildDashboard(pool: WorkerPoolBase): cloudwatch.Dashboard {
    const drains = (name: string, label: string) => pool.metricDrain(name, { statistic: cloudwatch.Stats.SUM, label });
    const autoscaler = (name: string, label: string) => pool.metricAutoscaler(name, { statistic: cloudwatch.Stats.SUM, label });
    const scaling = pool.autoscaler;
    // No dashboardName: CloudFormation names it after the stack, so two pools never collide.
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard');
    dashboard.addWidgets(new cloudwatch.GraphWidget({
      title: 'Queue and capacity',
      width: 24,
      left: [
        ...(scaling ? [
          pool.metricPendingRuns({ ...GAUGE, label: 'Pending runs' }),
          pool.metricBusyWorkers({ ...GAUGE, label: 'Busy workers' }),
          pool.metricIdleWorkers({ ...GAUGE, label: 'Idle workers' }),
          pool.metricLaunchingInstances({ ...GAUGE, label: 'Launching' }),
        ] : []),
        pool.metricDesiredCapacity({ ...GAUGE, label: 'Desired capacity' }),
        pool.metricInServiceInstances({ ...GAUGE, label: 'In service' }),
      ],
    }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Drains',
        width: scaling ? 12 : 24,
        left: [
          drains(DrainMetric.DrainsStarted, 'Started'),
          drains(DrainMetric.Requeued, 'Re-checks (busy)'),
          drains(DrainMetric.CompletedIdle, 'Completed: idle'),
          drains(DrainMetric.CompletedNoWorker, 'Completed: no worker'),
          drains(DrainMetric.CompletedBudgetExhausted, 'Completed: budget exhausted'),
          drains(DrainMetric.ActionGone, 'Completed elsewhere (action gone)'),
          drains(DrainMetric.SpotDrains, 'Spot warnings'),
        ],
      }),
      ...(scaling ? [new cloudwatch.GraphWidget({
        title: 'Autoscaler actions',
        width: 12,
        left: [
          autoscaler(AutoscalerMetric.ScaledOut, 'Scaled out'),
          autoscaler(AutoscalerMetric.Terminated, 'Terminated (idle)'),
          autoscaler(AutoscalerMetric.DrainSkippedBusy, 'Drain skipped: busy'),
          autoscaler(AutoscalerMetric.DrainedReclaimed, 'Reclaimed (left drained)'),
          autoscaler(AutoscalerMetric.RetainedReleased, 'Released (retained)'),
          autoscaler(AutoscalerMetric.StraysReaped, 'Strays replaced'),
          autoscaler(AutoscalerMetric.LostReclaimed, 'Reclaimed (worker lost)'),
        ],
      })] : []),
    );
    const functions = [...(scaling ? [['Autoscaler', scaling] as const] : []), ['Drain', pool.drain.function] as const];
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Errors',
        width: 12,
        left: [
          ...(scaling ? [
            pool.metricAutoscalerErrors({ label: 'Autoscaler errors' }),
            pool.metricFailedReads({ label: 'Failed worker-list reads' }),
          ] : []),
          pool.metricDrainErrors({ label: 'Drain errors' }),
          ...functions.flatMap(([name, fn]) => [
            fn.metricErrors({ statistic: cloudwatch.Stats.SUM, label: `${name} function errors` }),
            fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, label: `${name} function throttles` }),
          ]),
        ],
        right: [pool.metricDeadLetterMessages({ label: 'Dead-letter messages' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Workers Spacelift counts: daily peak (licence)',
        width: 12,
        // A month of daily maxima, whatever the dashboard's range: Spacelift bills the peak of the billing period.
        start: '-P30D',
        period: Duration.days(1),
        left: scaling ? [
          pool.metricPoolWorkers({ period: Duration.days(1), label: 'Workers in the Spacelift pool' }),
          pool.metricRegisteredWorkers({ period: Duration.days(1), label: 'Serving workers of this group' }),
        ] : [pool.metricInServiceInstances({ period: Duration.days(1), label: 'Instances in service' })],
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
    return dashboard;
  }
}
