/**
 * Drains the Spacelift worker(s) of an instance the ASG is terminating, and holds the termination (lifecycle
 * hook) until they are idle or the drain budget is spent. Also drains at once on EC2 spot warnings.
 *
 * Per lifecycle message (the ASG notification, or our own re-check):
 *   budget spent?            -> complete CONTINUE (loud error log + metric), done
 *   heartbeat                -> action gone? done
 *   find workers by instance -> none, and no busy worker with invalid metadata? read again NO_WORKER_CONFIRM_MS
 *                               later; still none? complete CONTINUE, done
 *   drain each               -> all idle, and no busy worker with invalid metadata? complete CONTINUE, done
 *   busy                     -> send a re-check with a delay; this record is done (the new message carries state)
 *
 * A worker list can be wrong (an API glitch can list fewer workers, or none), so "no worker" is believed only
 * when a second read, a few seconds later, agrees; a read never loops. A busy worker whose metadata we cannot
 * read may be on this instance, so it holds the termination like one of its own (we cannot drain it: it may be
 * elsewhere); the drain budget bounds the wait.
 *
 * Spacelift outage: the heartbeat comes before any Spacelift call, so a failing record has already kept the
 * hook alive. It then fails, SQS redelivers it after the visibility timeout, and that receive heartbeats again.
 * The hook therefore survives any outage shorter than the budget as long as visibilityTimeout stays below the
 * heartbeat timeout and maxReceiveCount covers the budget (`validateSchedule` with `queue` checks both). The
 * budget check needs no Spacelift call, so a drain still ends on time during an outage.
 *
 * Duplicates and redelivery: a message yields at most one re-check, and only after a heartbeat AWS accepted
 * in the same processing. A duplicate therefore adds at most one parallel chain; every chain carries the same
 * `startedAt` (the notification's own `Time`, not our clock), so all end by the same deadline, and once any
 * chain completes the action the others see `gone` at their next heartbeat and stop. Completing twice is
 * harmless (`gone`). Malformed messages are never re-sent.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parse } from '@aws-lambda-powertools/parser';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LifecycleActionRef, LifecycleActions } from '../aws/lifecycle';
import type { WorkerPoolApi } from '../core/ports';
import type { PoolSnapshot, Worker } from '../core/types';
import { DrainMessageSchema, type LifecycleNotification, type RecheckMessage } from './messages';
import type { Requeue } from './requeue';
import { nextStep, type DrainSchedule } from './schedule';

export type DrainLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools `Metrics` the handler uses. */
export interface DrainMetrics {
  addMetric(name: string, unit: Unit, value: number): unknown;
  publishStoredMetrics(): unknown;
}

export { METRICS_NAMESPACE } from '../shared/spacelift-env';

export const DrainMetric = {
  MessagesReceived: 'MessagesReceived',
  DrainsStarted: 'DrainsStarted',
  Heartbeats: 'Heartbeats',
  Requeued: 'Requeued',
  CompletedIdle: 'CompletedIdle',
  CompletedNoWorker: 'CompletedNoWorker',
  /** A first read found no worker on the instance and the confirming read found one after all. */
  NoWorkerOverturned: 'NoWorkerOverturned',
  /** Re-checks sent (also) because a busy worker with invalid metadata may be on the instance. */
  HeldForInvalidMetadata: 'HeldForInvalidMetadata',
  CompletedBudgetExhausted: 'CompletedBudgetExhausted',
  ActionGone: 'ActionGone',
  /** Seconds from the start of the lifecycle action to its completion. */
  DrainWaitSeconds: 'DrainWaitSeconds',
  SpotDrains: 'SpotDrains',
  TestNotifications: 'TestNotifications',
  MalformedMessages: 'MalformedMessages',
  Errors: 'Errors',
} as const;

export interface DrainDeps {
  readonly workerPool: WorkerPoolApi;
  readonly lifecycle: LifecycleActions;
  readonly requeue: Requeue;
  readonly config: DrainSchedule;
  readonly logger: DrainLogger;
  readonly metrics: DrainMetrics;
  /** Epoch seconds. */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * How long after a read that found no worker on an instance the confirming read is taken: long enough for a
 * glitch of one answer to pass, short enough for two reads of up to 3 attempts each to fit the 60 s function
 * timeout with room to spare (a record that times out is redelivered, and its heartbeat came first).
 */
export const NO_WORKER_CONFIRM_MS = 5_000;

/** How much of a body to log: enough to recognise it, never a whole oversized payload. */
const LOGGED_BODY_CHARS = 1000;

class MalformedMessageError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} is not a lifecycle notification, re-check, test notification or EC2 warning`);
    this.name = 'MalformedMessageError';
  }
}

/**
 * The valid-metadata workers running on an instance (a re-registered launcher can leave several), and the busy
 * workers whose metadata cannot be read (any of them may be on it). `confirm` reads a snapshot taken at least
 * NO_WORKER_CONFIRM_MS after the invocation's first one.
 */
type WorkersOn = (instanceId: string, read?: 'first' | 'confirm') => Promise<WorkersFound>;

interface WorkersFound {
  readonly workers: Worker[];
  readonly invalidBusy: Worker[];
}

/** One lifecycle action being drained, whichever message brought it. */
interface DrainTask {
  readonly notification: LifecycleNotification;
  readonly action: LifecycleActionRef;
  readonly attempt: number;
  readonly startedAt: number;
  readonly workerIds: readonly string[];
}

export function createHandler(deps: DrainDeps): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    // One pool snapshot per invocation: records of one batch (e.g. an instance refresh) share it, and one
    // confirming snapshot, taken after a pause. Busy state comes from each drain call, so the snapshot only has
    // to map instances to workers (and say which workers of unknown whereabouts are busy).
    let first: Promise<PoolSnapshot> | undefined;
    let confirming: Promise<PoolSnapshot> | undefined;
    const workersOn: WorkersOn = async (instanceId, read = 'first') => {
      first ??= deps.workerPool.snapshot();
      if (read === 'confirm') {
        await first.catch(() => undefined);
        confirming ??= deps.sleep(NO_WORKER_CONFIRM_MS).then(() => deps.workerPool.snapshot());
      }
      const { workers } = await (read === 'confirm' ? confirming! : first);
      return {
        workers: workers.filter((w) => w.metadata.valid && w.metadata.instanceId === instanceId),
        invalidBusy: workers.filter((w) => !w.metadata.valid && w.busy),
      };
    };
    const processRecord = (record: SQSRecord) => processMessage(deps, record, workersOn);
    try {
      return await processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      deps.metrics.publishStoredMetrics();
    }
  };
}

async function processMessage(
  deps: DrainDeps,
  record: SQSRecord,
  workersOn: WorkersOn,
): Promise<void> {
  const { logger, metrics } = deps;
  metrics.addMetric(DrainMetric.MessagesReceived, MetricUnit.Count, 1);
  const parsed = parse(record.body, undefined, DrainMessageSchema, true);
  if (!parsed.success) {
    metrics.addMetric(DrainMetric.MalformedMessages, MetricUnit.Count, 1);
    logger.error('malformed message; failing it so it reaches the DLQ after maxReceiveCount', {
      messageId: record.messageId,
      receiveCount: record.attributes.ApproximateReceiveCount,
      body: record.body.slice(0, LOGGED_BODY_CHARS),
      issues: parsed.error.cause,
    });
    throw new MalformedMessageError(record.messageId);
  }

  const message = parsed.data;
  try {
    switch (message.kind) {
      case 'test':
        metrics.addMetric(DrainMetric.TestNotifications, MetricUnit.Count, 1);
        logger.info('lifecycle hook test notification; nothing to do', {
          autoScalingGroupName: message.message.AutoScalingGroupName,
        });
        return;
      case 'spot':
        return await drainForWarning(
          deps,
          message.message['detail-type'],
          message.message.detail['instance-id'],
          workersOn,
        );
      case 'lifecycle':
        return await drainForTermination(deps, initialTask(message.message, deps.clock()), workersOn);
      case 'recheck':
        return await drainForTermination(deps, recheckTask(message.message), workersOn);
    }
  } catch (error) {
    metrics.addMetric(DrainMetric.Errors, MetricUnit.Count, 1);
    logger.error('processing failed; SQS will redeliver the message', {
      messageId: record.messageId,
      kind: message.kind,
      receiveCount: record.attributes.ApproximateReceiveCount,
      error,
    });
    throw error;
  }
}

function actionOf(n: LifecycleNotification): LifecycleActionRef {
  return {
    autoScalingGroupName: n.AutoScalingGroupName,
    lifecycleHookName: n.LifecycleHookName,
    lifecycleActionToken: n.LifecycleActionToken,
    instanceId: n.EC2InstanceId,
  };
}

function initialTask(notification: LifecycleNotification, now: number): DrainTask {
  // The notification's own time, so a late duplicate of it shares the original deadline; never in the future.
  const sent = Math.floor(Date.parse(notification.Time) / 1000);
  return {
    notification,
    action: actionOf(notification),
    attempt: 0,
    startedAt: Math.min(sent, Math.floor(now)),
    workerIds: [],
  };
}

function recheckTask(message: RecheckMessage): DrainTask {
  const { attempt, startedAt, workerIds, ...notification } = message;
  return { notification, action: actionOf(notification), attempt, startedAt, workerIds };
}

async function drainForTermination(
  deps: DrainDeps,
  task: DrainTask,
  workersOn: WorkersOn,
): Promise<void> {
  const { lifecycle, logger, metrics } = deps;
  const elapsedSeconds = Math.floor(deps.clock()) - task.startedAt;
  const context = { instanceId: task.action.instanceId, attempt: task.attempt, elapsedSeconds };

  const step = nextStep(deps.config, { attempt: task.attempt, elapsedSeconds });
  if (step.kind === 'exhausted') {
    metrics.addMetric(DrainMetric.CompletedBudgetExhausted, MetricUnit.Count, 1);
    logger.error('drain budget exhausted: letting the instance terminate although its workers were last seen busy', {
      ...context,
      workerIds: task.workerIds,
      drainTimeoutSeconds: deps.config.drainTimeout,
    });
    await complete(deps, task, elapsedSeconds, undefined);
    return;
  }

  // Before any Spacelift call, so a Spacelift failure still leaves the hook alive (see the top of this file).
  if ((await lifecycle.heartbeat(task.action)) === 'gone') {
    metrics.addMetric(DrainMetric.ActionGone, MetricUnit.Count, 1);
    logger.info('lifecycle action is no longer active; nothing to hold', context);
    return;
  }
  metrics.addMetric(DrainMetric.Heartbeats, MetricUnit.Count, 1);

  let found = await workersOn(task.action.instanceId);
  if (found.workers.length === 0 && found.invalidBusy.length === 0) {
    found = await workersOn(task.action.instanceId, 'confirm');
    if (found.workers.length === 0 && found.invalidBusy.length === 0) {
      logger.info('no Spacelift worker on the instance, confirmed by a second read; completing the lifecycle action', {
        ...context,
        confirmAfterMs: NO_WORKER_CONFIRM_MS,
      });
      await complete(deps, task, elapsedSeconds, DrainMetric.CompletedNoWorker);
      return;
    }
    metrics.addMetric(DrainMetric.NoWorkerOverturned, MetricUnit.Count, 1);
    logger.warn('the first read showed no worker on the instance, the confirming read does: not completing', {
      ...context,
      workerIds: found.workers.map((w) => w.id),
      invalidBusyWorkerIds: found.invalidBusy.map((w) => w.id),
    });
  }
  const { workers, invalidBusy } = found;
  if (task.attempt === 0) metrics.addMetric(DrainMetric.DrainsStarted, MetricUnit.Count, 1);
  // Drained again on every re-check: the autoscaler undrains a worker it found busy, and that must not
  // reopen a worker whose instance is going away.
  const drained = await Promise.all(workers.map((w) => deps.workerPool.drain(w.id)));
  const busy = [...drained.filter((d) => d.worker.busy).map((d) => d.worker.id), ...invalidBusy.map((w) => w.id)];
  if (busy.length === 0) {
    logger.info('workers are drained and idle; completing the lifecycle action', {
      ...context,
      workerIds: workers.map((w) => w.id),
    });
    await complete(deps, task, elapsedSeconds, DrainMetric.CompletedIdle);
    return;
  }
  if (invalidBusy.length > 0) {
    metrics.addMetric(DrainMetric.HeldForInvalidMetadata, MetricUnit.Count, 1);
    logger.warn('busy workers with invalid metadata may be on this instance; holding its termination until they are idle', {
      ...context,
      invalidBusyWorkerIds: invalidBusy.map((w) => w.id),
    });
  }

  const recheck: RecheckMessage = {
    ...task.notification,
    attempt: task.attempt + 1,
    startedAt: task.startedAt,
    workerIds: busy,
  };
  await deps.requeue(recheck, step.delaySeconds);
  metrics.addMetric(DrainMetric.Requeued, MetricUnit.Count, 1);
  logger.info('workers still busy; re-checking later', {
    ...context,
    workerIds: busy,
    delaySeconds: step.delaySeconds,
  });
}

/** `CompleteLifecycleAction(CONTINUE)`; `outcomeMetric` is counted unless the action had already ended. */
async function complete(
  deps: DrainDeps,
  task: DrainTask,
  elapsedSeconds: number,
  outcomeMetric: typeof DrainMetric.CompletedIdle | typeof DrainMetric.CompletedNoWorker | undefined,
): Promise<void> {
  const { metrics, logger } = deps;
  if ((await deps.lifecycle.completeContinue(task.action)) === 'gone') {
    metrics.addMetric(DrainMetric.ActionGone, MetricUnit.Count, 1);
    logger.info('lifecycle action had already ended', { instanceId: task.action.instanceId, attempt: task.attempt });
    return;
  }
  if (outcomeMetric !== undefined) metrics.addMetric(outcomeMetric, MetricUnit.Count, 1);
  metrics.addMetric(DrainMetric.DrainWaitSeconds, MetricUnit.Seconds, elapsedSeconds);
}

/**
 * Spot interruption warning or rebalance recommendation: stop Spacelift from giving the worker new runs. The
 * termination that follows goes through the lifecycle hook, which does the waiting.
 */
async function drainForWarning(
  deps: DrainDeps,
  detailType: string,
  instanceId: string,
  workersOn: WorkersOn,
): Promise<void> {
  const { workers } = await workersOn(instanceId);
  if (workers.length === 0) {
    deps.logger.info('EC2 warning for an instance without a Spacelift worker; nothing to drain', {
      detailType,
      instanceId,
    });
    return;
  }
  const drained = await Promise.all(workers.map((w) => deps.workerPool.drain(w.id)));
  deps.metrics.addMetric(DrainMetric.SpotDrains, MetricUnit.Count, workers.length);
  deps.logger.info('drained workers after an EC2 warning', {
    detailType,
    instanceId,
    workers: drained.map((d) => ({ id: d.worker.id, busy: d.worker.busy })),
  });
}
