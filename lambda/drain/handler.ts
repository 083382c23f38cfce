/**
 * Drains the Spacelift worker(s) of an instance the ASG is terminating, and holds the termination (lifecycle
 * hook) until they are idle or the drain budget is spent. Also drains at once on EC2 spot warnings.
 *
 * Per lifecycle message (the ASG notification, or our own re-check):
 *   budget spent?            -> complete CONTINUE (loud error log + metric), done
 *   heartbeat                -> action gone? done
 *   find workers by instance -> none, and no busy worker with invalid metadata? read again NO_WORKER_CONFIRM_MS
 *                               later; still none? ask Spacelift directly about each worker the previous check
 *                               saw busy that this read does not list; none busy? complete CONTINUE, done
 *   drain each               -> all idle, and no busy worker with invalid metadata? complete CONTINUE, done
 *   busy                     -> send a re-check with a delay; this record is done (the new message carries state)
 *
 * A worker list can be wrong (an API glitch can list fewer workers, or none), so "no worker" is believed only
 * when a second read, a few seconds later, agrees; and a worker the previous check saw busy that neither read
 * lists counts as gone only when Spacelift, asked about that worker, says it is idle or "not found"; a read
 * never loops. A busy worker whose metadata we cannot read may be on this instance if it was created after
 * the instance launched (EC2 `DescribeInstances`, once per batch; unknown launch time: any), so it holds the
 * termination like one of its own (we cannot drain it: it may be elsewhere); the drain budget bounds the wait.
 *
 * Function timeout: a step that calls Spacelift starts only when one call (`spaceliftCallMs`) and the call
 * that ends the record still fit in the invocation; otherwise the record is re-checked a few seconds later,
 * from a fresh invocation. A timed-out invocation would fail the whole batch, whose records SQS would hand
 * back only after the visibility timeout, some of them after they had already sent their re-check.
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
import type { Fleet, InstanceFacts, WorkerPoolApi } from '../core/ports';
import { partialList } from '../core/registration';
import { invalidWorkerMayRunOn } from '../core/strays';
import type { PoolSnapshot, Worker } from '../core/types';
import { DrainMetric, METRICS_DIMENSION } from '../shared/metrics';
import { isWorkerNotFound } from '../spacelift/errors';
import { DrainMessageSchema, type LifecycleNotification, type RecheckMessage } from './messages';
import type { Requeue } from './requeue';
import { DEFER_DELAY_SECONDS, nextStep, type DrainSchedule, type NextStep } from './schedule';

export type DrainLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools `Metrics` the handler uses. */
export interface DrainMetrics {
  addDimension(name: string, value: string): unknown;
  addMetric(name: string, unit: Unit, value: number): unknown;
  publishStoredMetrics(): unknown;
}

export { DrainMetric, METRICS_NAMESPACE } from '../shared/metrics';

export interface DrainDeps {
  readonly workerPool: WorkerPoolApi;
  /** EC2 launch times of terminating instances: a worker with invalid metadata created before one is not on it. */
  readonly instanceFacts: Fleet['instanceFacts'];
  readonly lifecycle: LifecycleActions;
  readonly requeue: Requeue;
  readonly config: DrainSchedule;
  /** The pool's group: the dimension of every metric, so each pool's drains are counted apart. */
  readonly asgName: string;
  readonly logger: DrainLogger;
  readonly metrics: DrainMetrics;
  /** Epoch seconds. */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * The longest one Spacelift call may take, all attempts included: a step that makes one starts only when
   * this, plus FINISH_RESERVE_MS, is left of the invocation.
   */
  readonly spaceliftCallMs: number;
}

/**
 * How long after a read that found no worker on an instance the confirming read is taken: long enough for a
 * glitch of one answer to pass, short enough for two reads of up to 3 attempts each to fit the 60 s function
 * timeout with room to spare (a record that times out is redelivered, and its heartbeat came first).
 */
export const NO_WORKER_CONFIRM_MS = 5_000;

/** Time kept for the AWS call that ends a record after its last Spacelift call: the completion or the re-check. */
export const FINISH_RESERVE_MS = 5_000;

/** How much of a body to log: enough to recognise it, never a whole oversized payload. */
const LOGGED_BODY_CHARS = 1000;

class MalformedMessageError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} is not a lifecycle notification, re-check, test notification or EC2 warning`);
    this.name = 'MalformedMessageError';
  }
}

/** What the records of one invocation share. */
interface Invocation {
  /**
   * One pool snapshot per invocation: records of one batch (e.g. an instance refresh) share it, and one
   * confirming snapshot, taken at least NO_WORKER_CONFIRM_MS after the first.
   */
  readonly snapshot: (read: 'first' | 'confirm') => Promise<PoolSnapshot>;
  /** EC2's launch time and registration tag of a terminating instance of the batch; undefined when unknown. */
  readonly facts: (instanceId: string) => Promise<InstanceFacts | undefined>;
  /** Milliseconds until the function times out. */
  readonly remainingMs: () => number;
}

/**
 * The valid-metadata workers running on an instance (a re-registered launcher can leave several), the busy
 * workers whose metadata cannot be read that may be on it, and the ids of every worker the read listed.
 */
interface WorkersFound {
  readonly workers: Worker[];
  readonly invalidBusy: Worker[];
  readonly listed: ReadonlySet<string>;
  /** Why the list is partial (fewer busy workers than Spacelift counts), or undefined. */
  readonly partial?: string;
}

/** One lifecycle action being drained, whichever message brought it. */
interface DrainTask {
  readonly notification: LifecycleNotification;
  readonly action: LifecycleActionRef;
  /** Re-check messages so far, deferred ones included. */
  readonly attempt: number;
  /** Of those, the deferred ones. */
  readonly deferrals: number;
  readonly startedAt: number;
  /** Workers that held the termination at the previous check. */
  readonly workerIds: readonly string[];
  /** Those of `workerIds` with invalid metadata. */
  readonly invalidWorkerIds: readonly string[];
}

type Recheck = Extract<NextStep, { kind: 'recheck' }>;

export function createHandler(deps: DrainDeps): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    // Busy state comes from each drain call, so the snapshot only has to map instances to workers (and say
    // which workers of unknown whereabouts are busy).
    let first: Promise<PoolSnapshot> | undefined;
    let confirming: Promise<PoolSnapshot> | undefined;
    let facts: Promise<ReadonlyMap<string, InstanceFacts> | undefined> | undefined;
    const invocation: Invocation = {
      snapshot: async (read) => {
        first ??= deps.workerPool.snapshot();
        if (read === 'first') return first;
        await first.catch(() => undefined);
        confirming ??= deps.sleep(NO_WORKER_CONFIRM_MS).then(() => deps.workerPool.snapshot());
        return confirming;
      },
      facts: async (instanceId) => {
        // Asked only when a busy worker with invalid metadata is listed, or no worker at all; one call for the batch.
        facts ??= (async () => {
          const instanceIds = [...new Set(event.Records.flatMap(terminatingInstance))];
          try {
            return await deps.instanceFacts(instanceIds);
          } catch (error) {
            deps.logger.warn('could not read the launch times and tags of the terminating instances: every busy worker '
              + 'with invalid metadata holds them, and so does an empty worker list', { instanceIds, error });
            return undefined;
          }
        })();
        return (await facts)?.get(instanceId);
      },
      remainingMs: () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY,
    };
    const processRecord = (record: SQSRecord) => processMessage(deps, record, invocation);
    // Publishing clears the dimensions, so every invocation adds the pool's again.
    deps.metrics.addDimension(METRICS_DIMENSION, deps.asgName);
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
  invocation: Invocation,
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
          invocation,
        );
      case 'lifecycle':
        if (message.message.Origin === WARM_POOL_ORIGIN) return await completeWarmPoolTermination(deps, message.message);
        return await drainForTermination(deps, initialTask(message.message, deps.clock()), invocation);
      case 'recheck':
        return await drainForTermination(deps, recheckTask(message.message), invocation);
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

/** The instance a lifecycle notification or re-check is about; none for anything else. */
function terminatingInstance(record: SQSRecord): string[] {
  const parsed = parse(record.body, undefined, DrainMessageSchema, true);
  if (!parsed.success || (parsed.data.kind !== 'lifecycle' && parsed.data.kind !== 'recheck')) return [];
  return [parsed.data.message.EC2InstanceId];
}

/** The valid-metadata workers that name the instance. */
function ownWorkers(snapshot: PoolSnapshot, instanceId: string): Worker[] {
  return snapshot.workers.filter((w) => w.metadata.valid && w.metadata.instanceId === instanceId);
}

async function workersOn(invocation: Invocation, instanceId: string, read: 'first' | 'confirm'): Promise<WorkersFound> {
  const snapshot = await invocation.snapshot(read);
  const invalidBusy = snapshot.workers.filter((w) => !w.metadata.valid && w.busy);
  // A worker cannot predate its instance (see invalidWorkerMayRunOn); of an unknown launch time, any may be on it.
  const launchTime = invalidBusy.length > 0 ? (await invocation.facts(instanceId))?.launchTime : undefined;
  return {
    workers: ownWorkers(snapshot, instanceId),
    invalidBusy: invalidBusy.filter((w) => invalidWorkerMayRunOn(launchTime, [w])),
    listed: new Set(snapshot.workers.map((w) => w.id)),
    partial: partialList(snapshot),
  };
}

function holdsNothing(found: WorkersFound): boolean {
  return found.workers.length === 0 && found.invalidBusy.length === 0;
}

/** Whether a Spacelift call, after a pause of `pauseMs`, and the call that ends the record fit in the invocation. */
function hasTimeFor(deps: DrainDeps, invocation: Invocation, pauseMs = 0): boolean {
  return invocation.remainingMs() >= pauseMs + deps.spaceliftCallMs + FINISH_RESERVE_MS;
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
    deferrals: 0,
    startedAt: Math.min(sent, Math.floor(now)),
    workerIds: [],
    invalidWorkerIds: [],
  };
}

function recheckTask(message: RecheckMessage): DrainTask {
  const { attempt, deferrals = 0, startedAt, workerIds, invalidWorkerIds = [], ...notification } = message;
  return { notification, action: actionOf(notification), attempt, deferrals, startedAt, workerIds, invalidWorkerIds };
}

async function drainForTermination(
  deps: DrainDeps,
  task: DrainTask,
  invocation: Invocation,
): Promise<void> {
  const { lifecycle, logger, metrics } = deps;
  const elapsedSeconds = Math.floor(deps.clock()) - task.startedAt;
  const instanceId = task.action.instanceId;
  const context = { instanceId, attempt: task.attempt, deferrals: task.deferrals, elapsedSeconds };

  const step = nextStep(deps.config, { rechecks: task.attempt - task.deferrals, deferrals: task.deferrals, elapsedSeconds });
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

  let found = await workersOn(invocation, instanceId, 'first');
  if (holdsNothing(found)) {
    if (!hasTimeFor(deps, invocation, NO_WORKER_CONFIRM_MS)) {
      await defer(deps, task, step, invocation, context, 'the confirming read');
      return;
    }
    found = await workersOn(invocation, instanceId, 'confirm');
    if (holdsNothing(found)) {
      const untrusted = found.listed.size === 0 ? 'no worker at all' : found.partial;
      if (untrusted !== undefined && (await invocation.facts(instanceId))?.registered !== false) {
        // No worker at all, or fewer busy ones than Spacelift counts, twice, for an instance that had one (or whose
        // tags are unknown): as for the autoscaler (core/registration.ts), such a list is not the truth about busy
        // workers. Held like a busy worker, within the budget; a whole list, or the action ending, settles it.
        metrics.addMetric(found.listed.size === 0 ? DrainMetric.HeldForEmptyList : DrainMetric.HeldForPartialList, MetricUnit.Count, 1);
        logger.warn('Spacelift\'s worker list is empty or partial, twice, and this instance had a worker: holding its termination', {
          ...context,
          list: untrusted,
        });
        await recheckLater(deps, task, step.delaySeconds, task.workerIds, task.invalidWorkerIds);
        return;
      }
      await completeUnlessNamedBusy(deps, task, step, invocation, found.listed, context, elapsedSeconds);
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
  if (workers.length > 0 && !hasTimeFor(deps, invocation)) {
    await defer(deps, task, step, invocation, context, 'draining the workers');
    return;
  }
  if (task.attempt === 0) metrics.addMetric(DrainMetric.DrainsStarted, MetricUnit.Count, 1);
  // Drained again on every re-check: the autoscaler undrains a worker it found busy, and that must not
  // reopen a worker whose instance is going away.
  const drained = await Promise.all(workers.map((w) => deps.workerPool.drain(w.id)));
  const invalidIds = invalidBusy.map((w) => w.id);
  const busy = [...drained.filter((d) => d.worker.busy).map((d) => d.worker.id), ...invalidIds];
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
      invalidBusyWorkerIds: invalidIds,
    });
  }

  await recheckLater(deps, task, step.delaySeconds, busy, invalidIds);
  logger.info('workers still busy; re-checking later', {
    ...context,
    workerIds: busy,
    delaySeconds: step.delaySeconds,
  });
}

/**
 * Both reads list no worker on the instance. A list can omit a worker for longer than the pause between them, so
 * each worker that held the termination at the previous check and that the confirming read does not list at all
 * is asked about directly: `workerDrainSet` answers with its state (draining it is what this function does to
 * the instance's workers anyway), or "not found" once it is gone. One still busy, or whose state Spacelift does
 * not tell, keeps the termination waiting like any busy worker. So does one with invalid metadata: it is never
 * drained (it may serve another instance), so while no read lists it there is nothing to ask.
 */
async function completeUnlessNamedBusy(
  deps: DrainDeps,
  task: DrainTask,
  step: Recheck,
  invocation: Invocation,
  listed: ReadonlySet<string>,
  context: Record<string, unknown>,
  elapsedSeconds: number,
): Promise<void> {
  const { logger, metrics } = deps;
  const invalid = new Set(task.invalidWorkerIds);
  const missing = task.workerIds.filter((id) => !listed.has(id));
  const toAsk = missing.filter((id) => !invalid.has(id));
  const missingInvalid = missing.filter((id) => invalid.has(id));
  if (toAsk.length > 0 && !hasTimeFor(deps, invocation)) {
    await defer(deps, task, step, invocation, context, 'asking about the workers the previous check saw busy');
    return;
  }
  const answers = await Promise.all(toAsk.map((id) => askWorker(deps, id, context)));
  const holding = toAsk.filter((_, i) => answers[i] === 'busy' || answers[i] === 'unknown');
  if (holding.length === 0 && missingInvalid.length === 0) {
    logger.info('no Spacelift worker on the instance, confirmed by a second read; completing the lifecycle action', {
      ...context,
      confirmAfterMs: NO_WORKER_CONFIRM_MS,
      askedWorkers: Object.fromEntries(toAsk.map((id, i) => [id, answers[i]])),
    });
    await complete(deps, task, elapsedSeconds, DrainMetric.CompletedNoWorker);
    return;
  }
  metrics.addMetric(DrainMetric.NoWorkerOverturned, MetricUnit.Count, 1);
  if (missingInvalid.length > 0) metrics.addMetric(DrainMetric.HeldForInvalidMetadata, MetricUnit.Count, 1);
  logger.warn('no read lists a worker the previous check saw busy, and it is not known to be idle or gone: not completing', {
    ...context,
    askedWorkers: Object.fromEntries(toAsk.map((id, i) => [id, answers[i]])),
    invalidBusyWorkerIds: missingInvalid,
    delaySeconds: step.delaySeconds,
  });
  await recheckLater(deps, task, step.delaySeconds, [...holding, ...missingInvalid], missingInvalid);
}

/** A worker's state as `workerDrainSet` tells it; `unknown` when the call fails otherwise than with "not found". */
async function askWorker(
  deps: DrainDeps,
  workerId: string,
  context: Record<string, unknown>,
): Promise<'busy' | 'idle' | 'gone' | 'unknown'> {
  try {
    const { worker } = await deps.workerPool.drain(workerId);
    return worker.busy ? 'busy' : 'idle';
  } catch (error) {
    if (isWorkerNotFound(error)) return 'gone';
    deps.logger.warn('could not ask Spacelift about a worker the previous check saw busy', { ...context, workerId, error });
    return 'unknown';
  }
}

/**
 * The invocation has no time left for the next Spacelift call: re-check in a few seconds from a fresh invocation,
 * with what the task already knew. Never a completion, which needs the call. It counts as a deferral, not as a
 * re-check (schedule.ts `nextStep`).
 */
async function defer(
  deps: DrainDeps,
  task: DrainTask,
  step: Recheck,
  invocation: Invocation,
  context: Record<string, unknown>,
  next: string,
): Promise<void> {
  const delaySeconds = Math.min(DEFER_DELAY_SECONDS, step.delaySeconds);
  deps.logger.warn(`not enough time left in this invocation for ${next}; re-checking shortly`, {
    ...context,
    remainingMs: invocation.remainingMs(),
    delaySeconds,
  });
  await recheckLater(deps, task, delaySeconds, task.workerIds, task.invalidWorkerIds, true);
}

/** Sends the task's next re-check: after `delaySeconds`, holding for `workerIds`. */
async function recheckLater(
  deps: DrainDeps,
  task: DrainTask,
  delaySeconds: number,
  workerIds: readonly string[],
  invalidWorkerIds: readonly string[],
  deferred = false,
): Promise<void> {
  const deferrals = task.deferrals + (deferred ? 1 : 0);
  const recheck: RecheckMessage = {
    ...task.notification,
    attempt: task.attempt + 1,
    ...(deferrals > 0 ? { deferrals } : {}),
    startedAt: task.startedAt,
    workerIds: [...workerIds],
    ...(invalidWorkerIds.length > 0 ? { invalidWorkerIds: [...invalidWorkerIds] } : {}),
  };
  await deps.requeue(recheck, delaySeconds);
  deps.metrics.addMetric(DrainMetric.Requeued, MetricUnit.Count, 1);
}

/**
 * The `Origin` of a termination of an instance that is still in the warm pool (scale-in of the warm pool, a
 * refresh, a stack delete). Such an instance never ran a worker: the bootstrap starts the launcher only once
 * the instance is InService, and the pool refuses the Running pool state.
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
 */
const WARM_POOL_ORIGIN = 'WarmPool';

/** Completes a warm pool instance's termination at once: there is nothing to drain or wait for. */
async function completeWarmPoolTermination(deps: DrainDeps, notification: LifecycleNotification): Promise<void> {
  const task = initialTask(notification, deps.clock());
  deps.logger.info('terminating an instance still in the warm pool, which never ran a worker; completing at once', {
    instanceId: task.action.instanceId,
  });
  await complete(deps, task, Math.max(0, Math.floor(deps.clock()) - task.startedAt), DrainMetric.CompletedWarmPool);
}

/** `CompleteLifecycleAction(CONTINUE)`; `outcomeMetric` is counted unless the action had already ended. */
async function complete(
  deps: DrainDeps,
  task: DrainTask,
  elapsedSeconds: number,
  outcomeMetric: typeof DrainMetric.CompletedIdle | typeof DrainMetric.CompletedNoWorker | typeof DrainMetric.CompletedWarmPool | undefined,
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
const REBALANCE_RECOMMENDATION = 'EC2 Instance Rebalance Recommendation';

async function drainForWarning(
  deps: DrainDeps,
  detailType: string,
  instanceId: string,
  invocation: Invocation,
): Promise<void> {
  const onInstance = ownWorkers(await invocation.snapshot('first'), instanceId);
  // An interruption ends the instance whatever its group, so any worker on it is drained. A rebalance recommendation
  // ends it only if its group rebalances (this rule exists only then): a worker of another group serving this pool,
  // whose group may not act on it, would be left drained.
  const workers = detailType === REBALANCE_RECOMMENDATION
    ? onInstance.filter((w) => w.metadata.valid && w.metadata.asgName === deps.asgName)
    : onInstance;
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
