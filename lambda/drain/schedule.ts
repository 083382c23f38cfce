/**
 * When to look at a busy worker again, and the rules that keep the lifecycle hook alive meanwhile.
 *
 * A terminating-instance hook has two clocks (AWS):
 * - the heartbeat timeout: without `RecordLifecycleActionHeartbeat` (or completion) for this long, the action
 *   expires with its default result and the instance is terminated, busy run or not;
 * - the global timeout, min(100 × heartbeat timeout, 48 h) from the start, which no heartbeat extends.
 *
 * The drain handler heartbeats every time it receives a lifecycle message, before anything slow or fallible.
 * So the gap between two heartbeats is: the rest of the previous processing + the re-check delay + the time
 * SQS and the event source mapping take to hand the message over, plus one visibility timeout when that
 * hand-over fails (see `worstHeartbeatGap`). All values are whole seconds.
 *
 * Every re-check is a new message to the function's own event-source queue, an SQS -> Lambda -> SQS loop that
 * Lambda's recursive loop detection stops after about 16 hops unless the function says `RecursiveLoop: Allow`
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html). The drain function allows it; the
 * bounds here are what keep that loop finite: a chain ends when `drainTimeout` has passed since the action
 * started (a clock no message can reset), or after `maxRechecks` re-checks or `maxDeferrals` deferred ones,
 * whichever comes first.
 */

export interface DrainSchedule {
  /** The hook's `HeartbeatTimeout`. */
  readonly heartbeatTimeout: number;
  /** Delay between two re-checks of a busy worker (SQS `DelaySeconds`); each re-check heartbeats. */
  readonly recheckInterval: number;
  /** How long to wait for busy workers, counted from the start of the lifecycle action. */
  readonly drainTimeout: number;
}

export const DEFAULT_SCHEDULE: DrainSchedule = {
  // 10 min. Long enough that one failed delivery (redelivered after the queue's visibility timeout, e.g. the
  // AWS-recommended 6 × a 60 s function timeout) still heartbeats in time; short enough that a broken drain
  // path only delays a termination by 10 minutes. The global timeout becomes 60 000 s, far above the budget.
  heartbeatTimeout: 600,
  // 1 min: a drained worker's instance goes about 30 s after its run ends on average, at the cost of one
  // snapshot + drain call per draining instance per minute.
  recheckInterval: 60,
  // 80 min: Spacelift's default run timeout (SPACELIFT_LAUNCHER_RUN_TIMEOUT, 70 min) plus 10 min for the
  // launcher to upload results and clean up. Raise it together with the launcher's run timeout.
  drainTimeout: 80 * 60,
};

/**
 * Upper bound, by default, for everything besides the delay itself between two heartbeats: the function's
 * run time before it sends the re-check, SQS/event-source polling latency and the batching window.
 * Pass a larger margin when the function timeout plus batching window exceed about 90 s.
 */
export const DEFAULT_PROCESSING_MARGIN_SECONDS = 120;

/** SQS `DelaySeconds` maximum. */
export const MAX_DELAY_SECONDS = 900;
/** AWS limits for a lifecycle hook's `HeartbeatTimeout`. */
export const MIN_HEARTBEAT_TIMEOUT_SECONDS = 30;
export const MAX_HEARTBEAT_TIMEOUT_SECONDS = 7200;
const GLOBAL_TIMEOUT_CAP_SECONDS = 172_800;
/** SQS visibility timeout maximum (12 h). */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** The hook's global timeout, which no heartbeat extends. */
export function globalTimeout(heartbeatTimeout: number): number {
  return Math.min(100 * heartbeatTimeout, GLOBAL_TIMEOUT_CAP_SECONDS);
}

/**
 * The most re-checks one drain can need: every re-check but the last waits a full interval. The handler treats
 * a higher count as an exhausted budget, a second bound on every re-check chain besides the clock.
 */
export function maxRechecks(schedule: DrainSchedule): number {
  return Math.ceil(schedule.drainTimeout / schedule.recheckInterval);
}

/**
 * How long a deferred re-check waits: an invocation without time left for its next Spacelift step hands the task
 * to a fresh one this soon. It is not a full interval, so it does not count as a re-check (see `nextStep`).
 */
export const DEFER_DELAY_SECONDS = 5;

/**
 * The most deferred re-checks one drain can make, a bound besides the clock: as many as fit its budget. Each waits
 * `DEFER_DELAY_SECONDS`, or the re-check interval when that is shorter, except a last one cut to the budget's end.
 */
export function maxDeferrals(schedule: DrainSchedule): number {
  return Math.ceil(schedule.drainTimeout / Math.min(DEFER_DELAY_SECONDS, schedule.recheckInterval)) + 1;
}

export type NextStep =
  | { readonly kind: 'recheck'; readonly delaySeconds: number }
  | { readonly kind: 'exhausted' };

/** How far a drain has come: its full-interval re-checks, and its deferred ones (`DEFER_DELAY_SECONDS` apart). */
export interface DrainProgress {
  readonly rechecks: number;
  readonly deferrals: number;
  readonly elapsedSeconds: number;
}

/**
 * What to do with a busy worker: re-check after `delaySeconds` or give up because the budget is spent.
 * The last delay is cut to what is left of the budget, so the sum of all delays never exceeds `drainTimeout`.
 * Deferred re-checks count apart: counted as re-checks, a few of them, each seconds long, would use up the
 * re-check count long before the budget's time, and the drain would give up on a busy worker early.
 */
export function nextStep(schedule: DrainSchedule, progress: DrainProgress): NextStep {
  const remaining = schedule.drainTimeout - progress.elapsedSeconds;
  if (remaining <= 0 || progress.rechecks >= maxRechecks(schedule) || progress.deferrals >= maxDeferrals(schedule)) {
    return { kind: 'exhausted' };
  }
  return { kind: 'recheck', delaySeconds: Math.min(schedule.recheckInterval, Math.ceil(remaining)) };
}

/**
 * The smallest DLQ `maxReceiveCount` that lets a message survive failed receives (a Spacelift outage)
 * until the drain budget runs out, given that receives are at least one visibility timeout apart.
 * Receives count per message, and each re-check is a new message, so a long drain never accumulates
 * them: this is why re-checks are new messages rather than one message redelivered through its
 * visibility timeout, whose every receive (throttled ones included) would count towards this limit.
 */
export function minMaxReceiveCount(schedule: DrainSchedule, visibilityTimeout: number): number {
  return Math.ceil(schedule.drainTimeout / visibilityTimeout) + 1;
}

/** Queue settings that also bound the gap between heartbeats when a receive fails. */
export interface QueueTiming {
  readonly visibilityTimeout: number;
  readonly maxReceiveCount: number;
}

/**
 * The longest time between two heartbeats of one busy drain: the processing margin (the rest of the
 * previous invocation before it sends the re-check, plus SQS and event-source polling latency), the
 * re-check delay, and one visibility timeout. The last term covers a receive that yields no heartbeat:
 * when the function is throttled, the event source mapping retries the invocation while the message is
 * invisible, and if it never gets through (or the invocation fails before its heartbeat) the message
 * reappears one visibility timeout after it was received
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). Reserved concurrency of at
 * least the event source's maximum concurrency (see `drainConcurrency`) keeps the function's own limit
 * from throttling it at all; the term is what is left for Lambda-side failures.
 */
export function worstHeartbeatGap(schedule: DrainSchedule, visibilityTimeout: number, margin = DEFAULT_PROCESSING_MARGIN_SECONDS): number {
  return margin + schedule.recheckInterval + visibilityTimeout;
}

/** Event source mapping `MaximumConcurrency` limits (SQS). */
export const MIN_EVENT_SOURCE_CONCURRENCY = 2;
export const MAX_EVENT_SOURCE_CONCURRENCY = 1000;

/**
 * Concurrent executions to reserve for the drain function, also the event source mapping's maximum
 * concurrency. Each terminating instance has one re-check chain, so one execution per instance up to
 * `maxSize` lets every drain's message be processed the moment it is visible: a message never waits
 * for a free execution (which would add up to a function timeout to the heartbeat gap), and the
 * mapping never invokes beyond the reserve, so it is never throttled by it. Reserving also means no
 * other function of the account can use up the drain's concurrency.
 */
export function drainConcurrency(maxSize: number): number {
  return Math.min(Math.max(maxSize, MIN_EVENT_SOURCE_CONCURRENCY), MAX_EVENT_SOURCE_CONCURRENCY);
}

export interface ScheduleProblem {
  readonly setting: keyof DrainSchedule | keyof QueueTiming;
  readonly message: string;
}

/**
 * Everything that could let the hook expire while a worker is busy, or promise a wait AWS will not honour.
 * An empty list means the schedule is safe. Each problem names the setting to change.
 */
export function validateSchedule(
  schedule: DrainSchedule,
  options: { processingMargin?: number; queue?: QueueTiming } = {},
): ScheduleProblem[] {
  const margin = options.processingMargin ?? DEFAULT_PROCESSING_MARGIN_SECONDS;
  const problems: ScheduleProblem[] = [];
  const range = (setting: ScheduleProblem['setting'], value: number, min: number, max: number): boolean => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push({
        setting,
        message: `${setting} must be a whole number of seconds in [${min}, ${max}], got ${value}`,
      });
      return false;
    }
    return true;
  };

  const { heartbeatTimeout, recheckInterval, drainTimeout } = schedule;
  const heartbeatOk = range(
    'heartbeatTimeout',
    heartbeatTimeout,
    MIN_HEARTBEAT_TIMEOUT_SECONDS,
    MAX_HEARTBEAT_TIMEOUT_SECONDS,
  );
  const recheckOk = range('recheckInterval', recheckInterval, 1, MAX_DELAY_SECONDS);
  const drainOk = range('drainTimeout', drainTimeout, 1, GLOBAL_TIMEOUT_CAP_SECONDS);
  if (!heartbeatOk) return problems;

  if (recheckOk && recheckInterval + margin >= heartbeatTimeout) {
    problems.push({
      setting: 'recheckInterval',
      message:
        `recheckInterval (${recheckInterval} s) plus the processing margin (${margin} s) must stay below ` +
        `heartbeatTimeout (${heartbeatTimeout} s), or the hook can expire between two heartbeats`,
    });
  }
  if (drainOk && drainTimeout > globalTimeout(heartbeatTimeout)) {
    problems.push({
      setting: 'drainTimeout',
      message:
        `drainTimeout (${drainTimeout} s) exceeds the hook's global timeout min(100 × heartbeatTimeout, 48 h) = ` +
        `${globalTimeout(heartbeatTimeout)} s; raise heartbeatTimeout or lower drainTimeout`,
    });
  }

  const queue = options.queue;
  if (queue !== undefined && recheckOk && drainOk) {
    if (range('visibilityTimeout', queue.visibilityTimeout, 1, MAX_VISIBILITY_TIMEOUT_SECONDS)) {
      if (worstHeartbeatGap(schedule, queue.visibilityTimeout, margin) >= heartbeatTimeout) {
        problems.push({
          setting: 'visibilityTimeout',
          message:
            `visibilityTimeout (${queue.visibilityTimeout} s) + recheckInterval (${recheckInterval} s) + margin ` +
            `(${margin} s) must stay below heartbeatTimeout (${heartbeatTimeout} s), so that a re-check whose ` +
            'receive is throttled or fails once is redelivered and heartbeats before the hook expires',
        });
      }
      const needed = minMaxReceiveCount(schedule, queue.visibilityTimeout);
      if (!Number.isInteger(queue.maxReceiveCount) || queue.maxReceiveCount < needed) {
        problems.push({
          setting: 'maxReceiveCount',
          message:
            `maxReceiveCount must be at least ${needed} (drainTimeout / visibilityTimeout + 1), got ` +
            `${queue.maxReceiveCount}; otherwise a Spacelift outage shorter than drainTimeout moves a live drain ` +
            'to the DLQ and the hook expires while a worker may be busy',
        });
      }
    }
  }
  return problems;
}
