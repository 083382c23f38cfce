import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  AUTOSCALER_SERVICE,
  AutoscalerMetric,
  DRAIN_SERVICE,
  DrainMetric,
  METRICS_DIMENSION,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
} from '../lambda/shared/metrics';
import type { IWorkerDrain } from './worker-drain';

/**
 * The metrics of a Spacelift worker pool, for your own alarms and graphs: the autoscaler's and the
 * drain function's (CloudWatch EMF in the namespace `CdkEc2WorkerPool`, per Auto Scaling group), the
 * group's own, and the drain dead-letter queue's. Each method returns a metric over 5 minutes unless
 * `props` says otherwise. The autoscaler sends its metrics at every tick, each only when it is not zero (a gap
 * reads as zero), and by default only the four the alarms read (`metricAutoscalerErrors()`, `metricFailedReads()`,
 * `metricDrainedInstances()`, `metricRetainedInstances()`): the 19 others need `autoscaling.detailedMetrics` (on with
 * `monitoring.dashboard`), because CloudWatch bills each custom metric, $0.30 a month, for every hour in which it
 * receives data (up to about $5.70 a month for the 19 of a pool busy around the clock). Counts of the moment
 * (`metricPendingRuns()`...) default to their maximum, events (`metricAutoscalerErrors()`...) to their sum.
 */
export abstract class WorkerPoolBase extends Construct {
  /** The Auto Scaling group. */
  public abstract readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The termination drain. */
  public abstract readonly drain: IWorkerDrain;
  /** The autoscaler function, unless autoscaling is disabled. */
  public abstract readonly autoscaler?: lambda.Function;

  /**
   * Any metric the autoscaler publishes, by name (see the README's Monitoring section). Its metrics
   * exist only while autoscaling is enabled.
   * @default - average over 5 minutes
   */
  public metricAutoscaler(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(AUTOSCALER_SERVICE, metricName, props);
  }

  /**
   * Any metric the drain function publishes, by name (see the README's Monitoring section).
   * @default - average over 5 minutes
   */
  public metricDrain(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handlerMetric(DRAIN_SERVICE, metricName, props);
  }

  /**
   * Runs waiting for a worker, by the autoscaler's demand signal.
   * @default - maximum over 5 minutes
   */
  public metricPendingRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.PendingRuns, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Serving instances whose worker is running a run.
   * @default - maximum over 5 minutes
   */
  public metricBusyWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.BusyWorkers, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Serving instances whose worker waits for a run.
   * @default - maximum over 5 minutes
   */
  public metricIdleWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.IdleWorkers, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Serving instances: live instances of the group with an undrained worker (busy plus idle).
   * @default - maximum over 5 minutes
   */
  public metricRegisteredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.RegisteredWorkers, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Every worker registered in the Spacelift pool, drained ones, those on terminating instances and
   * those of other groups included: what Spacelift counts towards the licence, which bills the peak
   * number of concurrent workers in a billing period. Take it over a day for the daily peak.
   * @default - maximum over 5 minutes
   */
  public metricPoolWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.PoolWorkers, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Capacity on its way: instances booting within the registration grace, plus desired capacity
   * the group has not launched yet.
   * @default - maximum over 5 minutes
   */
  public metricLaunchingInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.LaunchingInstances, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Live instances whose workers are all drained: neither capacity nor scale-in candidates.
   * @default - maximum over 5 minutes
   */
  public metricDrainedInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.DrainedInstances, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Instances Auto Scaling retained (`Terminating:Retained`) because the drain never completed their termination:
   * their runs went on, and they bill until terminated. Sent with the alarm metrics.
   * @default - maximum over 5 minutes
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/manage-retained-instances.html
   */
  public metricRetainedInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.RetainedInstances, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Instances with no worker after the registration grace (strays).
   * @default - maximum over 5 minutes
   */
  public metricStrayInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.StrayInstances, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Ticks whose Spacelift worker list was a failed read (no worker on any instance that had one), so
   * nothing was removed.
   * @default - sum over 5 minutes
   */
  public metricFailedReads(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.FailedReads, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Errors of the autoscaler's ticks: failed reads of Spacelift or AWS, failed actions, failed ticks.
   * @default - sum over 5 minutes
   */
  public metricAutoscalerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricAutoscaler(AutoscalerMetric.Errors, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Terminations whose drain started (first message of each lifecycle action).
   * @default - sum over 5 minutes
   */
  public metricDrainsStarted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricDrain(DrainMetric.DrainsStarted, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Re-checks the drain function sent itself because a worker was still busy.
   * @default - sum over 5 minutes
   */
  public metricDrainRechecks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricDrain(DrainMetric.Requeued, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Terminations that waited the whole drain budget and went ahead with a busy worker: a run was
   * likely killed.
   * @default - sum over 5 minutes
   */
  public metricDrainBudgetExhausted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricDrain(DrainMetric.CompletedBudgetExhausted, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Drain messages whose processing failed (SQS delivers them again).
   * @default - sum over 5 minutes
   */
  public metricDrainErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricDrain(DrainMetric.Errors, { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Messages in the drain dead-letter queue.
   * @default - maximum over 5 minutes
   */
  public metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.drain.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The group's desired capacity (`GroupDesiredCapacity`; the pool enables group metrics).
   * @default - maximum over 5 minutes
   */
  public metricDesiredCapacity(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('GroupDesiredCapacity', props);
  }

  /**
   * The group's instances in service (`GroupInServiceInstances`).
   * @default - maximum over 5 minutes
   */
  public metricInServiceInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('GroupInServiceInstances', props);
  }

  private handlerMetric(service: string, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      ...props,
      dimensionsMap: { [SERVICE_DIMENSION]: service, [METRICS_DIMENSION]: this.autoScalingGroup.autoScalingGroupName },
    }).attachTo(this);
  }

  /** @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-metrics.html */
  private groupMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName,
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName },
    }).attachTo(this);
  }
}
