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
  /**
   * Most repairs per tick: stray instances (no worker after the grace period) replaced, plus instances
   * left with only drained workers reclaimed (strays first). 0 disables both.
   */
  readonly maxStraysPerTick: number;
  /** How long an instance may run without a registered worker before it is a stray. */
  readonly registrationGraceSeconds: number;
  /**
   * Whether strays (and lost instances) are terminated. Off when the pool keeps failed instances for debugging
   * (`powerOffOnError: false`): strays are then logged and metered, and hold their slot, as documented.
   */
  readonly reapStrays: boolean;
  /** How long a worker must be idle before scale-in may pick it. */
  readonly scaleDownDelay: ScaleDownDelay;
  /**
   * A busy worker whose run will likely end within this many seconds counts as capacity for a queued run, instead
   * of a launch (run-durations.ts). About one boot: a wait no longer than the boot the launch would have cost. 0 disables.
   */
  readonly busyFinishingWithinSeconds: number;
  /**
   * Seconds every worker of an InService instance must have been idle (since `availableAt`, else
   * `createdAt`), with all of them drained, before the instance is reclaimed: terminated with
   * decrement, or without at min size so the group replaces it. 0 disables. See reclaim.ts.
   */
  readonly drainedReclaimSeconds: number;
  /**
   * Seconds an InService instance must have been lost (it had a worker, and every trusted read since shows none)
   * before it is terminated through the lifecycle hook (with decrement, or without at min size). Needs
   * `reapStrays`; shares `maxStraysPerTick`. 0 disables. See lost.ts.
   */
  readonly lostReclaimSeconds: number;
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
 * - `maxTerminatePerTick: 5`: each termination is a drain, a busy check and a terminate inside one
 *   Lambda run, so the cap bounds a tick's work. Scale-in is never urgent, but after a burst a cap of
 *   1 keeps the burst's idle workers one tick per worker longer. In the simulator (BENCHMARKS.md §3,
 *   default delay, 7 traces) 5 costs 82.37 instance-hours against 83.63 for 1 (drift detection
 *   13.99 against 14.91, -6%), with the same p95 wait and a mean wait of 66.9 s against 66.6 s;
 *   10 buys nothing more (82.36).
 * - `maxStraysPerTick: 1`: strays come from failed boots or crashed launchers, which are rare. A
 *   stray is terminated without a drain, so if the worker list were ever incomplete (API hiccup,
 *   launcher metadata change) a cap of 1 limits the damage to one instance per tick instead of the
 *   whole fleet, while still reaping 240 an hour. Reclaims of drained instances share the cap (see
 *   below): both are repairs of rare faults, and one cap bounds what a wrong snapshot can cost.
 * - `registrationGraceSeconds: 600`: a healthy boot registers in 2-3 minutes; ten minutes tolerates
 *   slow image pulls and matches Spacelift's hard-coded stray age, and a shorter grace would kill
 *   slow-but-healthy instances and churn.
 * - `reapStrays: true`: a failed boot powers its instance off by default, so a stray is a hang; the
 *   construct turns it off with `powerOffOnError: false`, whose failed instances are kept on purpose.
 * - `scaleDownDelay: fixed(0)`: release an idle worker at the first tick that sees it idle. With ticks once a
 *   minute unless one is due (next-tick.ts), that keeps a worker idle for up to a minute, long enough for most
 *   dependent stacks' runs (queued seconds after the run they depend on ends) to find it. No estimate is involved:
 *   the arrival-rate rule `breakEven` kept the last idle workers of a burst longest (its rate estimate decays slowly
 *   while the idle count falls) and cost 4-14% more than Spacelift's autoscaler on traces it had not been tuned on;
 *   it stays an option. The sweep ranks settings by the goal (BENCHMARKS.md §3): dominance over Spacelift's
 *   autoscaler per trace, then instance-hours against the offline floor; `fixed:0` ranks first, `fixed:15` third.
 * - `busyFinishingWithinSeconds: 90`: a launch for a queued run that a busy worker takes first pays a boot, then
 *   idles. Counting busy workers whose run will likely end within one boot (90 s) as capacity (run-durations.ts),
 *   for one horizon at most (queue-cover.ts), saves those launches; the sweep ranks it first (BENCHMARKS.md §3).
 *   (The poll interval stays 15 s although 30 s ranks a little higher there: the suite has no minIdle trace, where
 *   the interval is how soon a run's idle worker is replaced.)
 * - `drainedReclaimSeconds: 900`: a worker that someone drained and nobody undrains (an undrain that
 *   failed in a container that then went cold, a rebalance-recommendation drain without capacity
 *   rebalancing, a manual drain) leaves its instance billing and holding a max-size slot for good,
 *   and drained workers are neither capacity nor scale-in candidates. Fifteen minutes is longer than
 *   every legitimate drain that keeps its instance InService: our own drain is followed by a
 *   terminate or an undrain within seconds (a failed undrain is retried every tick), and a spot
 *   interruption takes the instance within 2 minutes; a lifecycle-hook drain happens after the
 *   instance has left InService, so it never qualifies. (Spacelift gives no drain time, so the clock
 *   is the idle time: a drain applied to a worker already idle that long qualifies on the next tick,
 *   which is safe, since it is idle and drained, and re-checked; see reclaim.ts.)
 * - `lostReclaimSeconds: 4800`: the drain budget (the drain's `drainTimeout` default, 80 minutes, longer than
 *   Spacelift's default 70-minute run timeout). An instance whose worker vanished from every trusted list for
 *   that long has a wedged launcher or a worker Spacelift removed, not a glitch; a shorter time would lean on
 *   the lifecycle hook's drain to save a run the lists merely omitted, a longer one keeps a dead instance
 *   billing and holding a max-size slot longer. See lost.ts.
 */
export const DEFAULT_SCALING_CONFIG: ScalingConfig = Object.freeze({
  minIdle: 0,
  schedule: Object.freeze([]),
  demandSignal: 'pendingRuns',
  maxCreatePerTick: undefined,
  maxTerminatePerTick: 5,
  maxStraysPerTick: 1,
  registrationGraceSeconds: 600,
  reapStrays: true,
  scaleDownDelay: ScaleDownDelay.fixed(0),
  busyFinishingWithinSeconds: 90,
  drainedReclaimSeconds: 900,
  lostReclaimSeconds: 4800,
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
  if (typeof config.reapStrays !== 'boolean') {
    throw new Error(`scaling config: reapStrays must be a boolean, got ${JSON.stringify(config.reapStrays)}`);
  }
  requireInteger(config, 'drainedReclaimSeconds', 0);
  requireInteger(config, 'lostReclaimSeconds', 0);
  requireInteger(config, 'busyFinishingWithinSeconds', 0);
  if (!(config.scaleDownDelay instanceof ScaleDownDelay)) {
    throw new Error('scaling config: scaleDownDelay must be built with ScaleDownDelay.fixed/breakEven or parseScaleDownDelay');
  }
}
