/**
 * Everything that can arrive on the drain queue. Anything else is malformed: the record fails and, after the
 * queue's maxReceiveCount, lands in the DLQ. We never re-send a message we could not read.
 */
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { z } from 'zod';

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not an ISO-8601 time');
const nonEmpty = z.string().min(1);

/** Body the ASG sends to SQS for an `EC2_INSTANCE_TERMINATING` lifecycle hook. */
export const LifecycleNotificationSchema = z.object({
  Origin: z.string(),
  Destination: z.string(),
  Service: z.string(),
  Time: isoTime,
  AccountId: z.string(),
  // A launching hook routed here by mistake must not be completed by a drain function.
  LifecycleTransition: z.literal('autoscaling:EC2_INSTANCE_TERMINATING'),
  RequestId: z.string(),
  LifecycleActionToken: nonEmpty,
  EC2InstanceId: nonEmpty,
  LifecycleHookName: nonEmpty,
  AutoScalingGroupName: nonEmpty,
  NotificationMetadata: z.string().optional(),
});
export type LifecycleNotification = z.infer<typeof LifecycleNotificationSchema>;

/** What the ASG sends once when the hook is created. */
export const TestNotificationSchema = z.object({
  AccountId: z.string(),
  RequestId: z.string(),
  AutoScalingGroupARN: z.string(),
  AutoScalingGroupName: z.string(),
  Service: z.literal('AWS Auto Scaling'),
  Event: z.literal('autoscaling:TEST_NOTIFICATION'),
  Time: z.string(),
});

/**
 * Our own re-check of a busy worker: the original notification plus the drain state, so a re-check needs no
 * store. `startedAt` never changes along a chain, which is what bounds every chain (duplicates included).
 */
export const RecheckMessageSchema = LifecycleNotificationSchema.extend({
  /** 1 for the first re-check: every re-check message of the chain, deferred ones included. */
  attempt: z.int().min(1),
  /** Of those, the deferred ones (drain/schedule.ts `DEFER_DELAY_SECONDS`); absent when none. */
  deferrals: z.int().min(1).optional(),
  /** Epoch seconds when the lifecycle action started; the drain budget counts from here. */
  startedAt: z.int().nonnegative(),
  /**
   * Workers that held the termination at the previous check (busy, or of unconfirmed state). One that no read
   * lists any more is asked about directly before the action completes.
   */
  workerIds: z.array(z.string()),
  /**
   * Those of `workerIds` whose metadata cannot be read: never drained, since they may serve another instance.
   * Absent when none.
   */
  invalidWorkerIds: z.array(z.string()).optional(),
}).refine((message) => (message.deferrals ?? 0) <= message.attempt, { message: 'deferrals must not exceed attempt', path: ['deferrals'] });
export type RecheckMessage = z.infer<typeof RecheckMessageSchema>;

/** EventBridge events (rule target: the drain queue) that warn of an EC2-initiated interruption. */
export const SpotEventSchema = z.object({
  source: z.literal('aws.ec2'),
  'detail-type': z.enum(['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation']),
  detail: z.object({ 'instance-id': nonEmpty }),
});

/**
 * The SQS message body, tagged. A re-check also satisfies the (non-strict) notification schema, so the
 * notification branch refuses an `attempt`: a corrupt re-check is malformed, never a fresh notification.
 */
export const DrainMessageSchema = JSONStringified(
  z.union([
    TestNotificationSchema.transform((message) => ({ kind: 'test' as const, message })),
    RecheckMessageSchema.transform((message) => ({ kind: 'recheck' as const, message })),
    LifecycleNotificationSchema.extend({ attempt: z.never().optional() }).transform((message) => ({
      kind: 'lifecycle' as const,
      message,
    })),
    SpotEventSchema.transform((message) => ({ kind: 'spot' as const, message })),
  ]),
);
export type DrainMessage = z.output<typeof DrainMessageSchema>;
