import { ScaleDownDelay } from './scale-down-delay';
import { validateScheduleFloor, type ScheduleFloor } from './schedule';

/** Which Spacelift queue figure stands for "runs waiting for a worker". */
export type DemandSignal = 'pendingRuns' | 'schedulableRunsCount';

export const DEMAND_SIGNALS: readonly DemandSignal[] = ['pendingRuns', 'schedulableRunsCount'];

export interface ScalingConfig {
  /** Idle workers to keep at all times, on top of busy workers and queued runs. */
  readonly minIdle: number;
  /** Time windows that raise `minIdle` (the largest open floor wins). */
  readonly schedule: readonly ScheduleFloor[];
  /** Queue figure used as demand; `schedulableRunsCount` falls back to `pendingRuns` when absent. */
  readonly demandSignal: DemandSignal;
  /** Most instances added per tick; undefined closes the whole gap at once (still capped by max size). */
  readonly maxCreatePerTick?: number;
  /** Most idle workers drained and terminated per tick. */
  readonly maxTerminatePerTick: number;
  /** Most stray instances (no worker after the grace period) replaced per tick; 0 disables. */
  readonly maxStraysPerTick: number;
  /** How long an instance may run without a registered worker before it is a stray. */
  readonly registrationGraceSeconds: number;
  /** How long a worker must be idle before scale-in may pick it. */
  readonly scaleDownDelay: ScaleDownDelay;
}

/**
 * Defaults, and why:
 * - `minIdle: 0`: idle workers cost money; warm capacity is opt-in (or per schedule).
 * - `schedule: []`: no business-hours floors unless asked for.
 * - `demandSignal: 'pendingRuns'`: what Spacelift's own autoscaler uses; whether
 *   `schedulableRunsCount` is the better signal is unverified, so it is opt-in.
 * - `maxCreatePerTick: undefined`: in-flight instances count as capacity, so closing the whole gap
 *   at once cannot double-launch; max size bounds the cost. Spacelift's cap of 1 per boot cycle
 *   makes a queue of N wait N boots.
 * - `maxTerminatePerTick: 1`: each termination is a drain, a busy check and a terminate inside one
 *   Lambda run; scale-in is never urgent (a slow one costs idle minutes, a wrong one a boot), and
 *   one per minute still releases 60 instances an hour.
 * - `maxStraysPerTick: 1`: strays come from failed boots or crashed launchers, which are rare. A
 *   stray is terminated without a drain, so if the worker list were ever incomplete (API hiccup,
 *   launcher metadata change) a cap of 1 limits the damage to one instance per tick instead of the
 *   whole fleet, while still reaping 60 an hour.
 * - `registrationGraceSeconds: 600`: a healthy boot registers in 2-3 minutes; ten minutes tolerates
 *   slow image pulls and matches Spacelift's hard-coded stray age, and a shorter grace would kill
 *   slow-but-healthy instances and churn.
 * - `scaleDownDelay: breakEven()`: see scale-down-delay.ts; a fixed 5-minute keep-alive costs up to
 *   2.4x on bursty drift-detection traffic and a zero delay makes steady runs pay a boot each.
 */
export const DEFAULT_SCALING_CONFIG: ScalingConfig = Object.freeze({
  minIdle: 0,
  schedule: Object.freeze([]),
  demandSignal: 'pendingRuns',
  maxCreatePerTick: undefined,
  maxTerminatePerTick: 1,
  maxStraysPerTick: 1,
  registrationGraceSeconds: 600,
  scaleDownDelay: ScaleDownDelay.breakEven(),
});

function requireInteger(config: ScalingConfig, field: keyof ScalingConfig, minimum: number): void {
  const value = config[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new Error(`scaling config: ${field} must be an integer >= ${minimum}, got ${JSON.stringify(value)}`);
  }
}

/** Throws an Error naming the first bad field. */
export function validateScalingConfig(config: ScalingConfig): void {
  requireInteger(config, 'minIdle', 0);
  if (!Array.isArray(config.schedule)) {
    throw new Error('scaling config: schedule must be a list of floors');
  }
  config.schedule.forEach((floor, index) => validateScheduleFloor(floor, `scaling config: schedule[${index}]`));
  if (!DEMAND_SIGNALS.includes(config.demandSignal)) {
    throw new Error(
      `scaling config: demandSignal must be one of ${DEMAND_SIGNALS.join(', ')}, got ${JSON.stringify(config.demandSignal)}`,
    );
  }
  if (config.maxCreatePerTick !== undefined) requireInteger(config, 'maxCreatePerTick', 1);
  requireInteger(config, 'maxTerminatePerTick', 0);
  requireInteger(config, 'maxStraysPerTick', 0);
  requireInteger(config, 'registrationGraceSeconds', 0);
  if (!(config.scaleDownDelay instanceof ScaleDownDelay)) {
    throw new Error('scaling config: scaleDownDelay must be built with ScaleDownDelay.fixed/breakEven or parseScaleDownDelay');
  }
}
