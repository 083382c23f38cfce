/** Message and event builders for the drain tests; no mocks here, so any test file can import them. */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { LifecycleNotification, RecheckMessage } from '../../lambda/drain/messages';

export const ASG = 'spacelift-workers';
export const HOOK = 'drain-before-terminate';
export const TOKEN = 'c613620e-07e2-4ed2-a9e7-d0e4a1a5b8c1';
export const INSTANCE = 'i-0123456789abcdef0';
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/drain';
/** 2026-01-01T00:00:00Z */
export const T0 = 1_767_225_600;

export function notification(overrides: Partial<LifecycleNotification> = {}): LifecycleNotification {
  return {
    Origin: 'AutoScalingGroup',
    Destination: 'EC2',
    Service: 'AWS Auto Scaling',
    Time: new Date(T0 * 1000).toISOString(),
    AccountId: '123456789012',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    RequestId: 'b2a4b4a0-5b8e-4c5d-9f8e-1a2b3c4d5e6f',
    LifecycleActionToken: TOKEN,
    EC2InstanceId: INSTANCE,
    LifecycleHookName: HOOK,
    AutoScalingGroupName: ASG,
    ...overrides,
  };
}

export function recheck(overrides: Partial<RecheckMessage> = {}): RecheckMessage {
  return { ...notification(), attempt: 1, startedAt: T0, workerIds: ['w-1'], ...overrides };
}

export function spotEvent(detailType: string, instanceId = INSTANCE): Record<string, unknown> {
  return {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': detailType,
    source: 'aws.ec2',
    account: '123456789012',
    time: new Date(T0 * 1000).toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, 'instance-action': 'terminate' },
  };
}

let messageSeq = 0;

export function sqsRecord(body: string | object, messageId = `msg-${++messageSeq}`): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(T0 * 1000),
      SenderId: 'AROAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(T0 * 1000),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:drain',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
