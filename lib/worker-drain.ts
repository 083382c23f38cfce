import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as hooktargets from 'aws-cdk-lib/aws-autoscaling-hooktargets';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_SCHEDULE,
  drainConcurrency,
  minMaxReceiveCount,
  validateSchedule,
  type DrainSchedule,
  type ScheduleProblem,
} from '../lambda/drain/schedule';
import type { PoolFunctionProps } from './function-placement';
import { HandlerFunction } from './handler-function';
import { acknowledgeWildcards } from './nag';
import { grantUnscoped } from './unscoped-policy';
import { durationSeconds, WorkerPoolConfigError } from './validation';

/** How terminations wait for busy workers. */
export interface DrainOptions {
  /**
   * How long a terminating instance may wait for its worker's run to finish, from the start of the
   * termination. Covers Spacelift's default 70-minute run timeout plus 10 minutes for the launcher to
   * upload results. After it the instance is terminated anyway, and the drain function logs an error.
   * Must not exceed the hook's global timeout, min(100 × heartbeatTimeout, 48 hours).
   * @default Duration.minutes(80)
   * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html
   */
  readonly drainTimeout?: Duration;
  /**
   * The termination hook's heartbeat timeout. The drain function records a heartbeat at every
   * re-check, so it only matters when the function cannot run at all. It must exceed
   * `recheckInterval` plus 2 minutes of processing and delivery plus the queue's 6-minute visibility
   * timeout, the wait for a re-check whose delivery was throttled or failed once.
   * @default Duration.minutes(10)
   */
  readonly heartbeatTimeout?: Duration;
  /**
   * How often a busy worker is checked again while its instance waits to terminate.
   * @default Duration.minutes(1)
   */
  readonly recheckInterval?: Duration;
  /**
   * Drains a worker as soon as EC2 warns that its spot instance will be interrupted, so it takes
   * no new run in its last two minutes. With `capacityRebalance`, rebalance recommendations drain
   * it too, since the group then replaces the instance. Only pools that can run spot instances
   * (`onDemandPercentageAboveBaseCapacity` below 100, or `capacityRebalance`) get the rule.
   * @default true
   */
  readonly drainOnSpotInterruption?: boolean;
  /**
   * Reserves one concurrent execution of the drain function per instance the group can have
   * (`maxSize`, at least 2), so no other function of the account can starve a drain of the
   * concurrency its heartbeats need. The reserve comes out of the account's unreserved concurrency,
   * of which Lambda keeps 100: turn it off when the account cannot spare it; the queue then still
   * invokes the function at most that often, but a busy account can throttle re-checks past the
   * hook's heartbeat timeout.
   * @default true
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
   */
  readonly reserveConcurrency?: boolean;
}

/** The termination drain of a pool: its queue, dead-letter queue, function and lifecycle hook. */
export interface IWorkerDrain {
  /** Lifecycle notifications, spot warnings and the drain function's own re-checks. */
  readonly queue: sqs.Queue;
  /** Messages that could not be processed after bounded receives. */
  readonly deadLetterQueue: sqs.Queue;
  /** The drain function. */
  readonly function: lambda.Function;
  /** The termination lifecycle hook. */
  readonly lifecycleHook: autoscaling.LifecycleHook;
}

/** Internal props of {@link WorkerDrain}. */
export interface WorkerDrainProps extends DrainOptions, PoolFunctionProps {
  /** The group's maximum size: how many instances can be terminating at once. */
  readonly maxSize: number;
  /** Whether the group can run spot instances, and so receive spot warnings. */
  readonly spot: boolean;
  /** Whether the group replaces spot instances on rebalance recommendations. */
  readonly capacityRebalance: boolean;
}

const FUNCTION_TIMEOUT = Duration.minutes(1);
// AWS recommends a visibility timeout of six times the function timeout for SQS event sources.
const VISIBILITY_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6);

/**
 * The backstop that makes every termination wait for its worker: an `EC2_INSTANCE_TERMINATING`
 * lifecycle hook delivers to an encrypted, SSL-only queue with a dead-letter queue, and the drain
 * function drains the worker, heartbeats the hook while the worker is busy, and completes the
 * action once it is idle. It covers every termination the group makes (the autoscaler's, instance refresh, health
 * replacement, capacity rebalancing), not one made through EC2 itself or a stack deletion (the README says which).
 * Internal: the pool exposes it as {@link IWorkerDrain}.
 */
export class WorkerDrain extends Construct implements IWorkerDrain {
  /** Lifecycle notifications, spot warnings and the drain function's own re-checks. */
  public readonly queue: sqs.Queue;
  /** Messages that could not be processed after bounded receives. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The drain function. */
  public readonly function: lambda.Function;
  /** The termination lifecycle hook. */
  public readonly lifecycleHook: autoscaling.LifecycleHook;

  constructor(scope: Construct, id: string, props: WorkerDrainProps) {
    super(scope, id);
    const schedule = this.schedule(props);
    const maxReceiveCount = minMaxReceiveCount(schedule, VISIBILITY_TIMEOUT.toSeconds());
    const problems = validateSchedule(schedule, { queue: { visibilityTimeout: VISIBILITY_TIMEOUT.toSeconds(), maxReceiveCount } });
    if (problems.length > 0) {
      throw new WorkerPoolConfigError(this, `drain.${userSetting(problems[0])}`, problems.map((p) => p.message).join('; '));
    }
    if (Token.isUnresolved(props.maxSize)) {
      throw new WorkerPoolConfigError(this, 'maxSize', 'must be known at synth: the drain function reserves one concurrent execution per instance');
    }
    const concurrency = drainConcurrency(props.maxSize);
    const reserveConcurrency = props.reserveConcurrency ?? true;
    if (!reserveConcurrency) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:drainConcurrency',
        'drain.reserveConcurrency is false: when other functions use up the account\'s concurrency, throttled re-checks can miss '
        + 'the termination hook\'s heartbeat timeout, and an instance with a busy worker is then terminated');
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // SQS-managed keys, not aws/sqs: EventBridge cannot send to a queue under the AWS managed KMS key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: VISIBILITY_TIMEOUT,
      retentionPeriod: Duration.days(4),
      // Enough receives to ride out a Spacelift outage as long as the drain budget; a malformed
      // message still reaches the DLQ after a bounded number of receives.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const handler = new HandlerFunction(this, 'Handler', {
      asset: 'drain',
      description: `Drains Spacelift workers of ${props.autoScalingGroup.node.path} before their instances terminate`,
      timeout: FUNCTION_TIMEOUT,
      // Re-checks are new messages to the function's own event-source queue, a loop Lambda's recursive
      // loop detection would stop after about 16 hops (16 minutes of drain) with the default Terminate,
      // letting the hook expire while a run is busy. The loop is intended and bounded: each chain ends at
      // drainTimeout from the start of the action (a clock carried in every message) or after maxRechecks (or maxDeferrals),
      // and an unreadable message lands in the DLQ after maxReceiveCount (lambda/drain/schedule.ts).
      // Redelivering one message by visibility timeout instead would avoid the detection, but every
      // throttled receive would count towards maxReceiveCount and could dead-letter a live drain.
      // https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
      // One execution per instance that can be terminating; see drainConcurrency.
      reservedConcurrentExecutions: reserveConcurrency ? concurrency : undefined,
      pool: props,
      environment: {
        QUEUE_URL: this.queue.queueUrl,
        ASG_NAME: props.autoScalingGroup.autoScalingGroupName,
        DRAIN_TIMEOUT_SECONDS: String(schedule.drainTimeout),
        HEARTBEAT_TIMEOUT_SECONDS: String(schedule.heartbeatTimeout),
        RECHECK_INTERVAL_SECONDS: String(schedule.recheckInterval),
      },
    });
    this.function = handler.function;
    handler.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      resources: [props.autoScalingGroup.autoScalingGroupArn],
    }));
    acknowledgeWildcards(handler.role, { resources: [props.autoScalingGroup.autoScalingGroupArn] },
      'Lifecycle actions are scoped to this pool\'s group; the ARN\'s only wildcard stands for the group UUID, which CloudFormation does not return.');
    // Launch times of terminating instances: a busy worker with invalid metadata holds only those it may run on.
    // EC2 describes take no resource ARN: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
    handler.addPolicyNeededAtCreation(grantUnscoped(this, 'DescribePolicy', handler.role, ['ec2:DescribeInstances'],
      'ec2:DescribeInstances supports no resource-level permissions; it is read-only.'));
    // Re-checks of busy workers go back to the same queue with a delay.
    this.queue.grantSendMessages(handler.role);
    this.function.addEventSource(new SqsEventSource(this.queue, {
      batchSize: 10,
      reportBatchItemFailures: true,
      // Never more invocations than the reserve, so the mapping is never throttled by it.
      maxConcurrency: concurrency,
    }));

    // The hook's notification role is created by QueueHook: separate from the instance role, and
    // only allowed to send to this queue.
    // The drain completes every action it handles with CONTINUE (worker idle or gone, budget spent, warm pool). An
    // action it never completes (the drain failing, throttled out or dead-lettered) expires with the default result:
    // ABANDON with the group's retention policy keeps that instance, and its run, in Terminating:Retained instead of
    // terminating it; the RetainedInstances alarm says so, and the autoscaler releases it once its workers are idle
    // (lambda/core/reclaim.ts). (For a termination hook without the policy, CONTINUE and
    // ABANDON both terminate.)
    // https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-lifecycle-policy.html
    this.lifecycleHook = props.autoScalingGroup.addLifecycleHook('DrainHook', {
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      defaultResult: autoscaling.DefaultResult.ABANDON,
      heartbeatTimeout: Duration.seconds(schedule.heartbeatTimeout),
      notificationTarget: new hooktargets.QueueHook(this.queue),
    });
    // An L1 override: the L2 property is missing from older aws-cdk-lib releases.
    (props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup)
      .addPropertyOverride('InstanceLifecyclePolicy', { RetentionTriggers: { TerminateHookAbandon: 'retain' } });
    if (props.permissionsBoundary) {
      // The hook's notification role is created inside the hook, not by this library's own code.
      iam.PermissionsBoundary.of(this.lifecycleHook).apply(props.permissionsBoundary);
    }

    if (props.spot && (props.drainOnSpotInterruption ?? true)) {
      // Spot warnings and rebalance recommendations carry only the instance id and ARN: no group
      // name or tag, and EventBridge cannot look either up, so no pattern narrows them to this pool.
      // The rule therefore matches every such event of the account in the region, and the function
      // ignores instances that run none of this pool's workers (for a rebalance recommendation, none of
      // this group's: another group serving the pool may not rebalance). A rebalance recommendation alone
      // terminates nothing: draining on it without capacity rebalancing would strand the worker.
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html
      new events.Rule(this, 'SpotWarnings', {
        description: `Drains Spacelift workers of ${props.autoScalingGroup.node.path} on spot interruption warnings`,
        eventPattern: {
          source: ['aws.ec2'],
          detailType: props.capacityRebalance
            ? ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation']
            : ['EC2 Spot Instance Interruption Warning'],
        },
        targets: [new targets.SqsQueue(this.queue)],
      });
    }
  }

  private schedule(props: WorkerDrainProps): DrainSchedule {
    const schedule = {
      drainTimeout: durationSeconds(this, 'drain.drainTimeout', props.drainTimeout, DEFAULT_SCHEDULE.drainTimeout),
      heartbeatTimeout: durationSeconds(this, 'drain.heartbeatTimeout', props.heartbeatTimeout, DEFAULT_SCHEDULE.heartbeatTimeout),
      recheckInterval: durationSeconds(this, 'drain.recheckInterval', props.recheckInterval, DEFAULT_SCHEDULE.recheckInterval),
    };
    if (schedule.drainTimeout < 70 * 60) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:shortDrain',
        `drain.drainTimeout (${schedule.drainTimeout} s) is shorter than Spacelift's default 70-minute run timeout: `
        + 'a long run on a terminating instance is killed when it runs out');
    }
    return schedule;
  }
}

/**
 * The user-facing prop behind a schedule problem. The queue's settings are this construct's: when its
 * visibility timeout leaves no room for a throttled or failed receive, the heartbeat timeout is what
 * the user can raise (maxReceiveCount is derived from the schedule, so it cannot fall short).
 */
function userSetting(problem: ScheduleProblem): keyof DrainOptions {
  return problem.setting === 'visibilityTimeout' || problem.setting === 'maxReceiveCount' ? 'heartbeatTimeout' : problem.setting;
}
