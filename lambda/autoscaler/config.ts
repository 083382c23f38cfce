import { DEFAULT_SCALING_CONFIG, DEMAND_SIGNALS, type ScalingConfig } from '../core/config';
import { POLL_WHEN_MODES, type PollWhen } from '../core/next-tick';
import { parseScaleDownDelay } from '../core/scale-down-delay';
import { parseSchedule } from '../core/schedule';
import { fromVariable, integer, oneOf, optionalString, requireString } from '../shared/env';
import { AUTOSCALER_METRICS_LEVELS, type AutoscalerMetricsLevel } from '../shared/metrics';
import { loadSpaceliftEnv, type SpaceliftEnv } from '../shared/spacelift-env';

type Env = Readonly<Record<string, string | undefined>>;

export interface AutoscalerConfig {
  readonly spacelift: SpaceliftEnv;
  readonly asgName: string;
  readonly scaling: ScalingConfig;
  /** Seconds between the starts of two ticks within one invocation. */
  readonly pollIntervalSeconds: number;
  /** How long one invocation keeps starting ticks; the function itself is scheduled every `scheduleSeconds`. */
  readonly loopSeconds: number;
  /** Seconds between two scheduled invocations (the EventBridge rate). */
  readonly scheduleSeconds: number;
  /** When an invocation ticks again within the loop (core/next-tick.ts). */
  readonly pollWhen: PollWhen;
  /** Which metrics a tick sends (shared/metrics.ts). */
  readonly metrics: AutoscalerMetricsLevel;
}

/**
 * Defaults: a tick every 15 s so a queued run waits at most that long for a scale-out decision; 50 s of
 * ticking per invocation leaves the rest of the minute for the last tick to finish before the next one starts.
 */
export const DEFAULT_POLL_INTERVAL_SECONDS = 15;
export const DEFAULT_LOOP_SECONDS = 50;
export const DEFAULT_SCHEDULE_SECONDS = 60;
/** See shared/metrics.ts: what the alarms need, at the least cost. */
export const DEFAULT_METRICS_LEVEL: AutoscalerMetricsLevel = 'alarms';
/** See core/next-tick.ts: tick again within an invocation only when a tick is due. */
export const DEFAULT_POLL_WHEN: PollWhen = 'needed';

/** Reads and checks the autoscaler's environment; every error names the variable to fix. */
export function loadAutoscalerConfig(env: Env): AutoscalerConfig {
  const defaults = DEFAULT_SCALING_CONFIG;
  const scaling: ScalingConfig = {
    minIdle: integer(env, 'MIN_IDLE', defaults.minIdle, { min: 0 }),
    schedule: parsed(env, 'SCHEDULE', parseSchedule) ?? defaults.schedule,
    demandSignal: oneOf(env, 'DEMAND_SIGNAL', DEMAND_SIGNALS, defaults.demandSignal),
    // Unset means "close the whole gap at once", so there is no number to fall back to.
    maxCreatePerTick: optionalString(env, 'MAX_CREATE_PER_TICK') === undefined
      ? defaults.maxCreatePerTick
      : integer(env, 'MAX_CREATE_PER_TICK', 1, { min: 1 }),
    maxTerminatePerTick: integer(env, 'MAX_TERMINATE_PER_TICK', defaults.maxTerminatePerTick, { min: 0 }),
    maxStraysPerTick: integer(env, 'MAX_STRAYS_PER_TICK', defaults.maxStraysPerTick, { min: 0 }),
    reapStrays: oneOf(env, 'REAP_STRAYS', ['true', 'false'], defaults.reapStrays ? 'true' : 'false') === 'true',
    registrationGraceSeconds: integer(env, 'REGISTRATION_GRACE_SECONDS', defaults.registrationGraceSeconds, { min: 0 }),
    scaleDownDelay: parsed(env, 'SCALE_DOWN_DELAY', parseScaleDownDelay) ?? defaults.scaleDownDelay,
    busyFinishingWithinSeconds: integer(env, 'BUSY_FINISHING_WITHIN_SECONDS', defaults.busyFinishingWithinSeconds, { min: 0, max: 3600 }),
    // 0 turns reclaiming off; no upper bound (a day is as valid as 15 minutes).
    drainedReclaimSeconds: integer(env, 'DRAINED_RECLAIM_SECONDS', defaults.drainedReclaimSeconds, { min: 0 }),
    // 0 turns it off, as above.
    lostReclaimSeconds: integer(env, 'LOST_RECLAIM_SECONDS', defaults.lostReclaimSeconds, { min: 0 }),
  };
  return {
    spacelift: loadSpaceliftEnv(env),
    asgName: requireString(env, 'ASG_NAME'),
    scaling,
    pollIntervalSeconds: integer(env, 'POLL_INTERVAL_SECONDS', DEFAULT_POLL_INTERVAL_SECONDS, { min: 5, max: 60 }),
    // Lambda's own limit is 900 s; 0 means a single tick per invocation.
    loopSeconds: integer(env, 'LOOP_SECONDS', DEFAULT_LOOP_SECONDS, { min: 0, max: 900 }),
    scheduleSeconds: integer(env, 'SCHEDULE_SECONDS', DEFAULT_SCHEDULE_SECONDS, { min: 60, max: 3600 }),
    pollWhen: oneOf(env, 'POLL_WHEN', POLL_WHEN_MODES, DEFAULT_POLL_WHEN),
    metrics: oneOf(env, 'METRICS', AUTOSCALER_METRICS_LEVELS, DEFAULT_METRICS_LEVEL),
  };
}

/** Undefined when unset; otherwise the parser's result. */
function parsed<T>(env: Env, name: string, parse: (text: string) => T): T | undefined {
  const raw = optionalString(env, name);
  return raw === undefined ? undefined : fromVariable(name, () => parse(raw));
}
