import { ConfigError, integer, requireString } from '../shared/env';
import { loadSpaceliftEnv, type SpaceliftEnv } from '../shared/spacelift-env';
import { DEFAULT_SCHEDULE, validateSchedule, type DrainSchedule } from './schedule';

export interface DrainConfig {
  readonly spacelift: SpaceliftEnv;
  /** The drain queue itself: re-checks go back to it. */
  readonly queueUrl: string;
  /** The pool's group, the dimension of the metrics. */
  readonly asgName: string;
  readonly schedule: DrainSchedule;
}

const SCHEDULE_ENV: Readonly<Record<keyof DrainSchedule, string>> = {
  heartbeatTimeout: 'HEARTBEAT_TIMEOUT_SECONDS',
  recheckInterval: 'RECHECK_INTERVAL_SECONDS',
  drainTimeout: 'DRAIN_TIMEOUT_SECONDS',
};

/** Reads and checks the drain function's environment; every error names the variable to fix. */
export function loadDrainConfig(env: Readonly<Record<string, string | undefined>>): DrainConfig {
  const schedule: DrainSchedule = {
    heartbeatTimeout: integer(env, SCHEDULE_ENV.heartbeatTimeout, DEFAULT_SCHEDULE.heartbeatTimeout),
    recheckInterval: integer(env, SCHEDULE_ENV.recheckInterval, DEFAULT_SCHEDULE.recheckInterval),
    drainTimeout: integer(env, SCHEDULE_ENV.drainTimeout, DEFAULT_SCHEDULE.drainTimeout),
  };
  const problems = validateSchedule(schedule);
  if (problems.length > 0) {
    // Queue settings are not checked here (the function cannot see them), so every setting is a schedule one.
    throw new ConfigError(
      problems
        .map((p) => `environment variable ${SCHEDULE_ENV[p.setting as keyof DrainSchedule]}: ${p.message}`)
        .join('; '),
    );
  }
  return {
    spacelift: loadSpaceliftEnv(env),
    queueUrl: requireString(env, 'QUEUE_URL'),
    asgName: requireString(env, 'ASG_NAME'),
    schedule,
  };
}
