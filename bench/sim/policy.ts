import type { LambdaShape } from './prices';
import type { World } from './world';

/** Counters a policy keeps about its own invocations. */
export interface PolicyStats {
  invocations: number;
  /** Invocations that never started because the previous one was still running. */
  throttled: number;
  /** Invocations killed at the Lambda timeout. */
  timeouts: number;
  coldStarts: number;
  /** Errors the policy reported (failed calls, refused actions). */
  errors: number;
  /** [start, end] of every invocation that ran, in trace seconds (what Lambda bills). */
  readonly invocationSpans: [number, number][];
  /** `<hour>:<metric>` for every custom metric sent in each hour of trace time (CloudWatch bills per metric-hour). */
  readonly metricHours: Set<string>;
}

export interface Policy {
  /** Short label for tables and charts, e.g. `ours` or `spacelift-v2 (caps 20/20)`. */
  readonly label: string;
  readonly kind: 'ours' | 'spacelift-v2';
  /** The autoscaler's function, for its bill. */
  readonly lambda: LambdaShape;
  /** The settings, one line. */
  readonly settings: string;
  /** Schedules the policy's invocations on the world; returns live counters. */
  attach(world: World): PolicyStats;
}

export function emptyStats(): PolicyStats {
  return { invocations: 0, throttled: 0, timeouts: 0, coldStarts: 0, errors: 0, invocationSpans: [], metricHours: new Set() };
}

/** Starts an extra asynchronous invocation (a webhook's poke); true when it started at once. */
export interface Invoker {
  invokeNow(event: unknown): boolean;
}

/** The event of a scheduled invocation (EventBridge). */
export const SCHEDULED_EVENT = Object.freeze({ source: 'aws.events' });

/**
 * EventBridge `rate(...)` invocations of a function with reserved concurrency 1. An invocation due
 * while the previous one still runs is throttled; Lambda retries a throttled asynchronous event, so
 * it starts when the previous one ends, unless that is more than `maxEventAgeSeconds` after it was
 * due (then it is dropped). Invocations stop once the world stops.
 */
export function scheduleInvocations(
  world: World,
  options: { readonly everySeconds: number; readonly phaseSeconds: number; readonly maxEventAgeSeconds: number },
  stats: PolicyStats,
  invoke: (done: () => void, event: unknown) => void,
): Invoker {
  let running = false;
  let startedAt = 0;
  // The oldest throttled event, retried once the running invocation ends (later ones merge into it).
  let deferred: { since: number; event: unknown } | undefined;
  const done = () => {
    running = false;
    stats.invocationSpans.push([startedAt, world.now]);
    const retry = deferred;
    deferred = undefined;
    if (retry !== undefined && world.now - retry.since <= options.maxEventAgeSeconds) start(retry.event);
  };
  const start = (event: unknown) => {
    running = true;
    startedAt = world.now;
    stats.invocations++;
    invoke(done, event);
  };
  /** An asynchronous invocation now: throttled (and retried once the running one ends) while one runs. */
  const invokeNow = (event: unknown): boolean => {
    if (world.stopped) return false;
    if (running) {
      stats.throttled++;
      deferred ??= { since: world.now, event };
      return false;
    }
    start(event);
    return true;
  };
  const due = (at: number) => {
    world.at(at, () => {
      if (world.stopped) return false;
      due(at + options.everySeconds);
      return invokeNow(SCHEDULED_EVENT);
    });
  };
  // On the same grid as `phaseSeconds`, starting within the warm-up.
  const every = options.everySeconds;
  due(options.phaseSeconds - Math.floor((options.phaseSeconds - world.startTime) / every) * every);
  return { invokeNow };
}
