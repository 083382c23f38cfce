import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_LEVEL, DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_POLL_WHEN, DEFAULT_SCHEDULE_SECONDS } from '../lambda/autoscaler/config';
import { DEFAULT_SCALING_CONFIG } from '../lambda/core/config';
import { REGISTERED_TAG_KEY } from '../lambda/core/registration-tag';
import { ScaleDownDelay as PolicyDelay } from '../lambda/core/scale-down-delay';
import { validateScheduleFloor, type ScheduleFloor } from '../lambda/core/schedule';
import type { PoolFunctionProps } from './function-placement';
import { HandlerFunction } from './handler-function';
import { acknowledgeWildcards } from './nag';
import { grantUnscoped } from './unscoped-policy';
import { durationSeconds, WorkerPoolConfigError, validateInteger, validateKnownInteger } from './validation';

/** Which Spacelift figure counts as runs waiting for a worker. */
export enum DemandSignal {
  /** `workerPool.pendingRuns`, what Spacelift's own autoscaler uses. */
  PENDING_RUNS = 'pendingRuns',
  /** `workerPool.schedulableRunsCount`: runs that could start right now. */
  SCHEDULABLE_RUNS = 'schedulableRunsCount',
}

/** When the autoscaler ticks again within one scheduled invocation (Lambda bills the time between ticks too). */
export enum PollingMode {
  /**
   * Only when a tick is due: an idle worker's scale-down delay runs out, a minimum idle floor is set, or a read or an
   * undrain needs a retry. Otherwise the next scheduled invocation is the next look (within a minute).
   */
  WHEN_NEEDED = 'needed',
  /** Also every poll interval while runs are queued: a burst's later runs are seen sooner, for more Lambda time. */
  WHILE_QUEUED = 'queued',
  /** Every poll interval for the whole invocation (about 50 s of every minute). */
  ALWAYS = 'always',
}

/** Options of the break-even scale-down delay. */
export interface BreakEvenScaleDownOptions {
  /**
   * What a fresh worker costs to get: launch, boot, launcher download and registration.
   * @default Duration.minutes(2)
   */
  readonly bootTime?: Duration;
  /**
   * The shortest time an idle worker is kept, e.g. for a dependent stack's run to be queued.
   * @default Duration.seconds(30)
   */
  readonly minimum?: Duration;
  /**
   * The longest time an idle worker is kept.
   * @default Duration.minutes(10)
   */
  readonly maximum?: Duration;
}

/** How long a worker must be idle before scale-in may remove it. */
export class ScaleDownDelay {
  /** Always the same delay. */
  public static constant(delay: Duration): ScaleDownDelay {
    return new ScaleDownDelay(() => PolicyDelay.fixed(delay.toSeconds()).toString());
  }

  /**
   * Keeps an idle worker about as long as a re-boot costs, longer when runs arrive often and
   * shorter after a burst (when many workers share the arrivals). Its rate estimate decays slowly,
   * so the last idle workers of a burst are kept longest: it cost more than `constant` in the
   * simulator (BENCHMARKS.md).
   */
  public static breakEven(options: BreakEvenScaleDownOptions = {}): ScaleDownDelay {
    return new ScaleDownDelay(() => PolicyDelay.breakEven({
      bootSeconds: options.bootTime?.toSeconds(),
      minSeconds: options.minimum?.toSeconds(),
      maxSeconds: options.maximum?.toSeconds(),
    }).toString());
  }

  private constructor(private readonly render: () => string) {}

  /** The form the autoscaler function reads from `SCALE_DOWN_DELAY`. */
  public toEnvironmentValue(): string {
    return this.render();
  }
}

/** A time window that keeps idle workers ready, e.g. during business hours. */
export interface IdleWorkersWindow {
  /** IANA time zone, e.g. `Europe/Berlin`. */
  readonly timezone: string;
  /** Days the window opens on: 1 = Monday ... 6 = Saturday, 0 or 7 = Sunday. */
  readonly daysOfWeek: number[];
  /** Local opening time, `HH:MM`. */
  readonly start: string;
  /** Local closing time, `HH:MM` (`24:00` for midnight; earlier than `start` for overnight windows). */
  readonly end: string;
  /** Idle workers to keep while the window is open. */
  readonly minIdle: number;
}

/** Options of the autoscaler. */
export interface AutoscalingOptions {
  /**
   * Runs the autoscaler. Without it, scale the group yourself; terminations are still drained.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How often the function is invoked. Each invocation keeps deciding every `pollInterval` until
   * shortly before the next one.
   * @default Duration.minutes(1)
   */
  readonly scheduleRate?: Duration;
  /**
   * Time between two scaling decisions within one invocation, when `pollingMode` asks for more than one.
   * @default Duration.seconds(15)
   */
  readonly pollInterval?: Duration;
  /**
   * When an invocation ticks again before the next scheduled one. Lambda bills an invocation for its whole
   * duration, sleeps included: polling every 15 s for 50 s of every minute at 256 MB costs about half an on-demand
   * t3.small around the clock, which is most of the bill of a small pool.
   * @default PollingMode.WHEN_NEEDED
   * @see https://aws.amazon.com/lambda/pricing/
   */
  readonly pollingMode?: PollingMode;
  /**
   * Sends every autoscaler metric (queue, workers, capacity, actions), not only those the alarms read. Each is sent
   * only in ticks where it is not zero, but CloudWatch bills a custom metric, $0.30 a month, for every hour in which it
   * receives data: the 19 gauges and counters this adds to the alarms' four (23 in all) cost up to about $5.70 a month
   * for a pool that works around the clock, more than a small pool's autoscaler and often more than its instances. The
   * pool's `metric...()` methods of the other metrics find no data without it.
   * @default - only the metrics the alarms read (Errors, FailedReads, DrainedInstances, RetainedInstances); all with
   * `monitoring.dashboard`
   * @see https://aws.amazon.com/cloudwatch/pricing/
   */
  readonly detailedMetrics?: boolean;
  /**
   * A busy worker whose run will likely end within this time counts as capacity for a queued run instead of a
   * launch: the run would wait about as long for a new instance, which would then start idle. The autoscaler learns
   * run times from what it sees; until it has seen ten runs, no busy worker counts. `Duration.seconds(0)` launches
   * for every queued run.
   * @default Duration.seconds(90)
   */
  readonly busyWorkerFinishingWithin?: Duration;
  /**
   * Idle workers to keep at all times, on top of busy workers and queued runs.
   * @default 0
   */
  readonly minIdle?: number;
  /**
   * Windows that keep more idle workers, e.g. business hours.
   * @default - none
   */
  readonly idleWorkersWindows?: IdleWorkersWindow[];
  /**
   * The queue figure that counts as demand.
   * @default DemandSignal.PENDING_RUNS
   */
  readonly demandSignal?: DemandSignal;
  /**
   * Most instances launched per decision.
   * @default - the whole gap between demand and capacity (capped by maxSize)
   */
  readonly maxCreatePerTick?: number;
  /**
   * Most idle workers drained and terminated per decision. The simulator found 5 releases a burst's
   * idle workers about 6% cheaper than 1, with no wait penalty (BENCHMARKS.md).
   * @default 5
   */
  readonly maxTerminatePerTick?: number;
  /**
   * Most repairs per decision: stray instances (no worker after `registrationGrace`) replaced,
   * instances whose worker was left drained reclaimed, instances that lost their worker reclaimed,
   * and instances Auto Scaling retained released. 0 disables all of them.
   * @default 1
   */
  readonly maxStraysPerTick?: number;
  /**
   * How long a worker that is drained and idle (for example after a failed undrain, or drained by
   * hand in Spacelift) may keep its instance before the autoscaler terminates it. Instances that
   * are terminating anyway never wait this long. `Duration.seconds(0)` disables reclaiming.
   * @default Duration.minutes(15)
   */
  readonly drainedReclaimTime?: Duration;
  /**
   * How long an instance may run without a registered worker before it counts as a stray.
   * @default Duration.minutes(10)
   */
  readonly registrationGrace?: Duration;
  /**
   * How long a worker must be idle before scale-in may remove it.
   * @default ScaleDownDelay.constant(Duration.seconds(0)): released at the first decision that sees it idle
   */
  readonly scaleDownDelay?: ScaleDownDelay;
}

/** Internal props of {@link WorkerPoolAutoscaler}. */
export interface WorkerPoolAutoscalerProps extends AutoscalingOptions, PoolFunctionProps {
  /**
   * Terminates instances that never register a worker (strays). The pool turns it off with
   * `powerOffOnError: false`, whose failed instances are kept for debugging.
   * @default true
   */
  readonly reapStrays?: boolean;
}

/** Leaves time between the end of one invocation's loop and the start of the next. */
const LOOP_MARGIN_SECONDS = 10;
const DEFAULT_SCHEDULE_RATE = Duration.seconds(DEFAULT_SCHEDULE_SECONDS);
const MAX_LAMBDA_TIMEOUT_SECONDS = 900;

/**
 * The scheduled autoscaler: raises desired capacity for queued runs in one step, and removes
 * idle workers only by draining them, confirming they are idle, and terminating exactly those
 * instances. It never sets desired capacity downward (`SetDesiredCapacity` would let AWS pick the
 * victim): each termination names its drained idle instance and lowers desired capacity by one, at
 * most `maxTerminatePerTick` per tick. Internal: the pool exposes only its function.
 */
export class WorkerPoolAutoscaler extends Construct {
  /** The autoscaler function. */
  public readonly function: lambda.Function;
  /** Seconds before an instance left drained and idle is reclaimed (0: never), for the pool's alarm. */
  public readonly drainedReclaimSeconds: number;
  /** Seconds between two scheduled invocations, for the pool's alarm. */
  public readonly scheduleSeconds: number;

  constructor(scope: Construct, id: string, props: WorkerPoolAutoscalerProps) {
    super(scope, id);
    const environment = this.environment(props);
    this.drainedReclaimSeconds = Number(environment.DRAINED_RECLAIM_SECONDS);
    const scheduleRate = props.scheduleRate ?? DEFAULT_SCHEDULE_RATE;
    this.scheduleSeconds = scheduleRate.toSeconds();
    const pollSeconds = Number(environment.POLL_INTERVAL_SECONDS);
    const maxTerminate = Number(environment.MAX_TERMINATE_PER_TICK);
    const maxStrays = Number(environment.MAX_STRAYS_PER_TICK);
    // A worst-case tick: two snapshots, then per termination or repair a drain (or re-check), a
    // terminate and maybe an undrain, each with the Spacelift client's bounded retries.
    const tickSeconds = 30 + 30 * maxTerminate + 30 * maxStrays;
    if (tickSeconds > MAX_LAMBDA_TIMEOUT_SECONDS) {
      throw new WorkerPoolConfigError(this, 'autoscaling.maxTerminatePerTick',
        `a tick with ${maxTerminate} terminations and ${maxStrays} strays needs up to ${tickSeconds} s, more than Lambda's 15-minute limit`);
    }
    // Keep deciding until shortly before the next invocation, within Lambda's limit.
    const loopSeconds = Math.min(Number(environment.LOOP_SECONDS), MAX_LAMBDA_TIMEOUT_SECONDS - tickSeconds);
    environment.LOOP_SECONDS = String(loopSeconds);
    const timeoutSeconds = loopSeconds + tickSeconds;
    if (pollSeconds > scheduleRate.toSeconds()) {
      throw new WorkerPoolConfigError(this, 'autoscaling.pollInterval', 'must not exceed scheduleRate');
    }

    const handler = new HandlerFunction(this, 'Handler', {
      asset: 'autoscaler',
      description: `Scales the Spacelift workers of ${props.autoScalingGroup.node.path}`,
      timeout: Duration.seconds(timeoutSeconds),
      // One decision-maker per group: concurrent runs could each launch for the same queue.
      reservedConcurrentExecutions: 1,
      pool: props,
      environment: { ...environment, ASG_NAME: props.autoScalingGroup.autoScalingGroupName, REAP_STRAYS: String(props.reapStrays ?? true) },
    });
    this.function = handler.function;
    // The next scheduled run is the retry; a retried run could overlap it.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    handler.addPolicyNeededAtCreation(grantUnscoped(this, 'DescribePolicy', handler.role,
      ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'],
      'autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances support no resource-level permissions; both are read-only.'));
    handler.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      resources: [props.autoScalingGroup.autoScalingGroupArn],
    }));
    // The registration tag (lambda/core/registration.ts), on this group's instances only.
    const instances = this.function.stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    handler.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: [instances],
      conditions: {
        'StringEquals': { 'ec2:ResourceTag/aws:autoscaling:groupName': props.autoScalingGroup.autoScalingGroupName },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [REGISTERED_TAG_KEY] },
      },
    }));
    acknowledgeWildcards(handler.role, { resources: [instances] },
      'ec2:CreateTags is limited by condition to the one registration tag key on instances of this pool\'s group (tag aws:autoscaling:groupName), whose ids are not known at deploy time.');
    acknowledgeWildcards(handler.role, { resources: [props.autoScalingGroup.autoScalingGroupArn] },
      'Scaling actions are scoped to this pool\'s group; the ARN\'s only wildcard stands for the group UUID, which CloudFormation does not return.');

    new events.Rule(this, 'Schedule', {
      description: `Runs the autoscaler of ${props.autoScalingGroup.node.path}`,
      schedule: events.Schedule.rate(scheduleRate),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }

  /**
   * Validates the options and renders them as the variables `lambda/autoscaler` reads. Unset options
   * take the function's own defaults (DEFAULT_SCALING_CONFIG), written out so the template shows them.
   */
  private environment(props: AutoscalingOptions): { [key: string]: string } {
    const defaults = DEFAULT_SCALING_CONFIG;
    const seconds = (value: Duration | undefined, fallback: number, prop: string, min: number, max: number): number => {
      const s = durationSeconds(this, prop, value, fallback);
      validateInteger(this, prop, s, min, max);
      return s;
    };
    const scheduleSeconds = seconds(props.scheduleRate, DEFAULT_SCHEDULE_RATE.toSeconds(), 'autoscaling.scheduleRate', 60, 3600);
    const pollSeconds = seconds(props.pollInterval, DEFAULT_POLL_INTERVAL_SECONDS, 'autoscaling.pollInterval', 5, 60);
    const graceSeconds = seconds(props.registrationGrace, defaults.registrationGraceSeconds, 'autoscaling.registrationGrace', 60, 3600);
    const reclaimSeconds = seconds(props.drainedReclaimTime, defaults.drainedReclaimSeconds, 'autoscaling.drainedReclaimTime', 0, 86400);
    const finishingSeconds = seconds(
      props.busyWorkerFinishingWithin, defaults.busyFinishingWithinSeconds, 'autoscaling.busyWorkerFinishingWithin', 0, 3600);
    validateInteger(this, 'autoscaling.minIdle', props.minIdle, 0);
    validateInteger(this, 'autoscaling.maxCreatePerTick', props.maxCreatePerTick, 1);
    const perTick = 'it sizes the function timeout';
    validateKnownInteger(this, 'autoscaling.maxTerminatePerTick', props.maxTerminatePerTick, perTick, 0);
    validateKnownInteger(this, 'autoscaling.maxStraysPerTick', props.maxStraysPerTick, perTick, 0);
    const windows: readonly ScheduleFloor[] = props.idleWorkersWindows ?? defaults.schedule;
    windows.forEach((window, i) => this.check(`autoscaling.idleWorkersWindows[${i}]`, () => validateScheduleFloor(window, `idleWorkersWindows[${i}]`)));
    const delay = props.scaleDownDelay;
    const scaleDownDelay = delay === undefined
      ? defaults.scaleDownDelay.toString()
      : this.check('autoscaling.scaleDownDelay', () => delay.toEnvironmentValue());

    const environment: { [key: string]: string } = {
      POLL_INTERVAL_SECONDS: String(pollSeconds),
      LOOP_SECONDS: String(Math.max(0, scheduleSeconds - LOOP_MARGIN_SECONDS)),
      SCHEDULE_SECONDS: String(scheduleSeconds),
      MIN_IDLE: String(props.minIdle ?? defaults.minIdle),
      DEMAND_SIGNAL: props.demandSignal ?? defaults.demandSignal,
      MAX_TERMINATE_PER_TICK: String(props.maxTerminatePerTick ?? defaults.maxTerminatePerTick),
      MAX_STRAYS_PER_TICK: String(props.maxStraysPerTick ?? defaults.maxStraysPerTick),
      REGISTRATION_GRACE_SECONDS: String(graceSeconds),
      DRAINED_RECLAIM_SECONDS: String(reclaimSeconds),
      LOST_RECLAIM_SECONDS: String(defaults.lostReclaimSeconds),
      SCALE_DOWN_DELAY: scaleDownDelay,
      BUSY_FINISHING_WITHIN_SECONDS: String(finishingSeconds),
      POLL_WHEN: props.pollingMode ?? DEFAULT_POLL_WHEN,
      METRICS: props.detailedMetrics === true ? 'all' : DEFAULT_METRICS_LEVEL,
    };
    const maxCreatePerTick = props.maxCreatePerTick ?? defaults.maxCreatePerTick;
    if (maxCreatePerTick !== undefined) environment.MAX_CREATE_PER_TICK = String(maxCreatePerTick);
    if (windows.length > 0) environment.SCHEDULE = JSON.stringify(windows);
    return environment;
  }

  /** Runs a validator shared with the function and reports its message under the prop's name. */
  private check<T>(prop: string, validate: () => T): T {
    try {
      return validate();
    } catch (error) {
      throw new WorkerPoolConfigError(this, prop, (error as Error).message);
    }
  }
}
