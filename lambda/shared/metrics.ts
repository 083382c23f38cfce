/**
 * The names of the handlers' EMF metrics: what the functions publish and what the construct's `metric*()`
 * methods, alarms and dashboard read. Pure data, so `lib/` imports it without pulling in any handler code.
 */

/** Namespace of every handler's EMF metrics, so they sit side by side in CloudWatch. */
export const METRICS_NAMESPACE = 'CdkEc2WorkerPool';

/** The pool's dimension on every metric of both handlers: the name of its Auto Scaling group. */
export const METRICS_DIMENSION = 'AutoScalingGroupName';

/**
 * Powertools adds the service name to every metric as this dimension, and CloudWatch finds a metric only by
 * all of its dimensions, so readers must name it too.
 */
export const SERVICE_DIMENSION = 'service';

/** The autoscaler's service name (logs and the `service` dimension). */
export const AUTOSCALER_SERVICE = 'spacelift-autoscaler';

/** The drain function's service name (logs and the `service` dimension). */
export const DRAIN_SERVICE = 'spacelift-worker-drain';

/** The webhook endpoint's service name (logs and the `service` dimension). */
export const WEBHOOK_SERVICE = 'spacelift-autoscaler-webhook';

/**
 * The pool's dimension on every webhook metric: the name of the autoscaler function it pokes (the endpoint does
 * not know the group).
 */
export const WEBHOOK_DIMENSION = 'AutoscalerFunctionName';

/** The extra dimension of the per-reason copy of `WebhookMetric.Rejected`. */
export const WEBHOOK_REASON_DIMENSION = 'Reason';

/** The webhook endpoint's metrics, published once per request. */
export const WebhookMetric = {
  /** Verified, fresh deliveries (answered 202): poked, deferred or coalesced. */
  Accepted: 'Accepted',
  /**
   * Accepted deliveries that came less than the minimum interval after a poke, and sent a trailing poke whose tick
   * waits for the interval's end.
   */
  Deferred: 'Deferred',
  /** Accepted deliveries that sent no poke: a trailing poke's tick, still to come, covers them. */
  Coalesced: 'Coalesced',
  /**
   * Refused requests (4xx), once without and once with the `Reason` dimension. Rejected signed deliveries mean a
   * wrong secret or policy, and Spacelift disables a webhook after 10 consecutive failures.
   */
  Rejected: 'Rejected',
  /** Pokes the Lambda API refused (answered 502, so Spacelift retries). */
  PokeFailed: 'PokeFailed',
  /** Requests answered 500 because the signing secret could not be read. */
  SecretUnavailable: 'SecretUnavailable',
} as const;

/** The autoscaler's metrics, published once per tick. */
export const AutoscalerMetric = {
  PendingRuns: 'PendingRuns',
  BusyWorkers: 'BusyWorkers',
  IdleWorkers: 'IdleWorkers',
  /** Serving instances: live, with an undrained worker of this group. */
  RegisteredWorkers: 'RegisteredWorkers',
  /**
   * Every worker in the Spacelift pool's worker list, whatever its group, state or metadata: what Spacelift
   * counts towards the licence, which bills the peak number of concurrent workers in a billing period.
   */
  PoolWorkers: 'PoolWorkers',
  LaunchingInstances: 'LaunchingInstances',
  /** Busy workers predicted to free up soon that stood in for launches for queued runs (core/queue-cover.ts). */
  FinishingSoon: 'FinishingSoon',
  DesiredCapacity: 'DesiredCapacity',
  /**
   * Live instances whose workers are all drained (neither capacity nor scale-in candidates), as the tick's snapshot
   * shows them: briefly non-zero around drains; those left drained are reclaimed once idle for
   * drainedReclaimSeconds. Non-zero for longer than that plus a few minutes means a reclaim is off
   * (DRAINED_RECLAIM_SECONDS 0, MAX_STRAYS_PER_TICK 0), failing (see Errors), or waiting for a drained worker's run.
   */
  DrainedInstances: 'DrainedInstances',
  /**
   * Instances Auto Scaling retained (`Terminating:Retained`) because a termination's lifecycle action expired without
   * the drain completing it: its run went on, the instance bills until it is terminated (RetainedReleased once every
   * worker on it is drained and idle, or by hand when no worker names it).
   */
  RetainedInstances: 'RetainedInstances',
  InvalidWorkers: 'InvalidWorkers',
  /** Instances without a worker past the registration grace, reaped or not (reapStrays off, or capped). */
  StrayInstances: 'StrayInstances',
  /**
   * Live instances that had a worker and have none in the snapshot: a dead launcher (kept with powerOffOnError
   * false) or a worker list that omits it. Reclaimed through the lifecycle hook only once lost on every trusted
   * read for lostReclaimSeconds (LostReclaimed), never with powerOffOnError false.
   */
  LostWorkerInstances: 'LostWorkerInstances',
  /**
   * 1 for a tick whose snapshot was a failed read (no worker on any instance that had one: nothing was removed) or
   * a partial one (fewer busy workers listed than Spacelift counts: no stray, lost or retained instance removed).
   */
  FailedReads: 'FailedReads',
  ScaledOut: 'ScaledOut',
  Terminated: 'Terminated',
  DrainSkippedBusy: 'DrainSkippedBusy',
  /** Instances left drained that this tick terminated (reclaimed). */
  DrainedReclaimed: 'DrainedReclaimed',
  /** Retained instances whose termination this tick requested, their workers drained and idle (autoscaler/release-retained.ts). */
  RetainedReleased: 'RetainedReleased',
  StraysReaped: 'StraysReaped',
  /** Lost instances this tick terminated (through the lifecycle hook) after lostReclaimSeconds. */
  LostReclaimed: 'LostReclaimed',
  UndrainFailures: 'UndrainFailures',
  Errors: 'Errors',
} as const;

/**
 * Which autoscaler metrics a tick sends: `alarms`, only those the pool's alarms read (the default); `all`, every one
 * (for dashboards, and the pool's metric methods of the others). Either way only non-zero values: CloudWatch bills
 * each custom metric, $0.30 a month, for every hour in which it receives data, which for a small pool is more than
 * its instances and the autoscaler's Lambda time together.
 */
export type AutoscalerMetricsLevel = 'alarms' | 'all';
export const AUTOSCALER_METRICS_LEVELS: readonly AutoscalerMetricsLevel[] = ['alarms', 'all'];

/** The autoscaler metrics lib/pool-monitoring.ts alarms on. */
export const ALARM_METRICS: ReadonlySet<string> = new Set([
  AutoscalerMetric.Errors,
  AutoscalerMetric.FailedReads,
  AutoscalerMetric.DrainedInstances,
  AutoscalerMetric.RetainedInstances,
]);

/** The drain function's metrics, published once per invocation. */
export const DrainMetric = {
  MessagesReceived: 'MessagesReceived',
  DrainsStarted: 'DrainsStarted',
  Heartbeats: 'Heartbeats',
  Requeued: 'Requeued',
  CompletedIdle: 'CompletedIdle',
  CompletedNoWorker: 'CompletedNoWorker',
  /** A termination of an instance still in the warm pool, which never ran a worker: completed at once. */
  CompletedWarmPool: 'CompletedWarmPool',
  /**
   * A first read found no worker on the instance and the confirming read found one after all, or Spacelift,
   * asked about a worker seen busy before that no read listed, did not say it was idle or gone.
   */
  NoWorkerOverturned: 'NoWorkerOverturned',
  /** Re-checks sent (also) because a busy worker with invalid metadata may be on the instance. */
  HeldForInvalidMetadata: 'HeldForInvalidMetadata',
  /** Re-checks sent because two reads listed no worker at all in the pool while the instance had one. */
  HeldForEmptyList: 'HeldForEmptyList',
  /** Re-checks sent because two reads listed fewer busy workers than Spacelift counts while the instance had one. */
  HeldForPartialList: 'HeldForPartialList',
  CompletedBudgetExhausted: 'CompletedBudgetExhausted',
  ActionGone: 'ActionGone',
  /** Seconds from the start of the lifecycle action to its completion. */
  DrainWaitSeconds: 'DrainWaitSeconds',
  SpotDrains: 'SpotDrains',
  TestNotifications: 'TestNotifications',
  MalformedMessages: 'MalformedMessages',
  Errors: 'Errors',
} as const;
