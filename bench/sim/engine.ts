/**
 * Runs one trace under one policy and summarises the outcome.
 *
 * The same rule ends the simulation for every policy. Once every run has finished, the fleet is
 * *steady* when nothing is launching or terminating, no worker is drained and no instance bills outside
 * the group (World.steady). A steady fleet costs the same every second until a policy changes desired
 * capacity, the billed instances or the warm pool, so the simulation ends once it has stayed steady and
 * unchanged for `quietSeconds`. A fleet back at min size can release nothing more: it ends at once, and the
 * result (`endTime`, instance-hours, stopped hours, the Lambda time, the world's counters such as API calls)
 * is taken at its last change. A fleet that holds instances above min size (`minIdle`, or a scale-down
 * delay longer than the quiet time) is billed through the quiet time too, so that keeping instances is
 * never free; its counters are still those of its last change. Instances held longer than the quiet time
 * are billed for the quiet time only. If the fleet never stays steady (a
 * leak, or changes that never stop), the simulation stops `settleLimitSeconds` after the last run could
 * have finished, is billed up to then, and the result says `settled: false`.
 */
import { minimumOf, type SimModel } from './model';
import type { Policy, PolicyStats } from './policy';
import { DEFAULT_PRICES, inInstanceHours, lambdaDollars, type LambdaUsage, type Prices } from './prices';
import { earliestStarts, type Trace } from './trace';
import { World, type Sample, type WorldStats } from './world';

export interface WaitStats {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

export interface SimResult {
  readonly policy: string;
  readonly kind: Policy['kind'];
  readonly settings: string;
  readonly trace: string;
  readonly runs: number;
  /** Runs that never started (their wait counts up to the end of the simulation). */
  readonly unstarted: number;
  readonly runsKilled: number;
  /** Queue wait in seconds: start - submit (nearest-rank percentiles). */
  readonly wait: WaitStats;
  /** Sum of all queue waits, hours. */
  readonly waitHours: number;
  /** Running instance-hours (billed in full). */
  readonly instanceHours: number;
  /** Instance-hours warm-pool instances spent stopped (billed their EBS only). */
  readonly stoppedHours: number;
  /** The cost in running instance-hours: `instanceHours` plus `stoppedHours` at the warm pool's stopped cost ratio. */
  readonly costHours: number;
  /** The autoscaler's own function: invocations and billed seconds within the reported window. */
  readonly lambda: LambdaUsage;
  /** The autoscaler's Lambda bill in instance-hours at `prices` (prices.ts). */
  readonly lambdaHours: number;
  /** Everything the pool costs, in instance-hours: `costHours + lambdaHours`. */
  readonly totalCostHours: number;
  readonly busyHours: number;
  /** Instance-hours not spent running a run (booting, idle, draining, shutting down). */
  readonly idleHours: number;
  /** Run time plus one fastest boot for each instance the peak concurrency forces: no policy can do better. */
  readonly lowerBoundHours: number;
  readonly launches: number;
  /** Times desired capacity was raised. */
  readonly scaleOuts: number;
  /** Instances released: terminations with decrement, plus ASG-chosen victims of a lowered desired. */
  readonly scaleIns: number;
  /** Instances replaced (terminated without decrement: strays). */
  readonly replacements: number;
  /** Terminations started while the instance's worker was busy (must be 0 for ours). */
  readonly busyTerminated: number;
  readonly calls: { readonly spacelift: number; readonly aws: number };
  readonly world: WorldStats;
  readonly invocations: PolicyStats;
  readonly settled: boolean;
  /** Seconds from trace start to the end of the simulation. */
  readonly endTime: number;
  readonly timeline: readonly Sample[];
}

/** Nearest-rank percentile of an ascending list: the value at rank ceil(p * n). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/**
 * The largest number of runs that would overlap if each started the moment it could (chained runs
 * when their parent would end).
 */
export function peakConcurrency(trace: Trace): number {
  const starts = earliestStarts(trace);
  const points: [number, number][] = [];
  for (const run of trace.runs) {
    if (run.duration <= 0) continue;
    points.push([starts[run.id], 1], [starts[run.id] + run.duration, -1]);
  }
  // Ends before starts at the same instant: a worker freed at t can take a run submitted at t.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of points) {
    current += delta;
    peak = Math.max(peak, current);
  }
  return peak;
}

/**
 * Instance-hours no policy can beat: every run's duration, plus the fastest possible boot for each
 * instance that must exist at the peak beyond those running at the start (the peak is capped at max
 * size: beyond it runs wait instead).
 */
export function lowerBoundHours(trace: Trace, model: SimModel): number {
  const runSeconds = trace.runs.reduce((sum, run) => sum + run.duration, 0);
  const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
  const boots = Math.max(0, Math.min(peakConcurrency(trace), model.maxSize) - initial);
  return (runSeconds + boots * minimumOf(model.boot)) / 3600;
}

/** Invocations and their billed seconds within [0, end] (the warm-up is not billed, like instances). */
export function lambdaUsage(policy: Policy, stats: PolicyStats, end: number): LambdaUsage {
  let invocations = 0;
  let seconds = 0;
  for (const [from, to] of stats.invocationSpans) {
    if (to <= 0 || from > end) continue;
    if (from >= 0) invocations++;
    // Lambda rounds each invocation up to the millisecond.
    seconds += Math.ceil((Math.min(to, end) - Math.max(0, from)) * 1000) / 1000;
  }
  let metricHours = 0;
  for (const key of stats.metricHours) if (Number(key.slice(0, key.indexOf(':'))) * 3600 < end) metricHours++;
  return { shape: policy.lambda, invocations, seconds, metricHours };
}

export async function simulate(trace: Trace, policy: Policy, model: SimModel, prices: Prices = DEFAULT_PRICES): Promise<SimResult> {
  const world = new World(model, trace);
  const invocations = policy.attach(world);
  const starts = earliestStarts(trace);
  const lastPossibleEnd = trace.runs.reduce((end, run) => Math.max(end, starts[run.id] + run.duration), 0);
  const limit = lastPossibleEnd + model.settleLimitSeconds;
  // The last change of the fleet (see the header), and the world's counters then.
  let lastChange = world.now;
  let lastState: string | undefined;
  let statsAtChange = world.stats;
  let settled = false;
  let atMinSize = false;
  let cut = false;
  await world.run(() => {
    const state = world.steady() ? world.fleetState() : undefined;
    if (state === undefined || state !== lastState) {
      lastChange = world.now;
      if (state !== undefined) statsAtChange = structuredClone(world.stats);
    }
    lastState = state;
    if (state !== undefined && world.atMinSize()) return (settled = atMinSize = true);
    if (state !== undefined && world.now - lastChange >= model.quietSeconds) return (settled = true);
    return (cut = world.now >= limit);
  });
  // With no event left (a policy that schedules none), a steady fleet can never change again.
  settled ||= !cut && lastState !== undefined;
  atMinSize ||= settled && world.atMinSize();
  const endTime = !settled ? world.now : atMinSize ? lastChange : lastChange + model.quietSeconds;

  const waits: number[] = [];
  let unstarted = 0;
  let busySeconds = 0;
  for (const run of world.runs) {
    if (run.start === undefined) {
      unstarted++;
      // A chained run whose parent never ended was never queued: it has no wait to report.
      if (run.queued) waits.push(endTime - run.submit);
      continue;
    }
    waits.push(run.start - run.submit);
    busySeconds += (run.end ?? endTime) - run.start;
  }
  waits.sort((a, b) => a - b);
  // Billing inside the reported window [0, end] only (the warm-up is not part of the trace).
  let instanceSeconds = world.stats.warmPrepareSeconds;
  for (const instance of world.instances) {
    instanceSeconds += Math.max(0, (instance.billedUntil ?? endTime) - Math.max(0, instance.launchedAt));
  }

  const stoppedSeconds = world.warmStoppedSecondsUntil(endTime);
  const stats = settled ? statsAtChange : world.stats;
  const costHours = (instanceSeconds + (model.warmPool?.stoppedCostRatio ?? 0) * stoppedSeconds) / 3600;
  const lambda = lambdaUsage(policy, invocations, endTime);
  const lambdaHours = inInstanceHours(lambdaDollars(lambda, prices), prices);
  return {
    policy: policy.label,
    kind: policy.kind,
    settings: policy.settings,
    trace: trace.name,
    runs: world.runs.length,
    unstarted,
    runsKilled: stats.runsKilled,
    wait: {
      p50: percentile(waits, 0.5),
      p95: percentile(waits, 0.95),
      max: waits.length === 0 ? 0 : waits[waits.length - 1],
      mean: waits.length === 0 ? 0 : waits.reduce((a, b) => a + b, 0) / waits.length,
    },
    waitHours: waits.reduce((a, b) => a + b, 0) / 3600,
    instanceHours: instanceSeconds / 3600,
    stoppedHours: stoppedSeconds / 3600,
    costHours,
    lambda,
    lambdaHours,
    totalCostHours: costHours + lambdaHours,
    busyHours: busySeconds / 3600,
    idleHours: (instanceSeconds - busySeconds) / 3600,
    lowerBoundHours: lowerBoundHours(trace, model),
    launches: stats.launches - Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances)),
    scaleOuts: stats.scaleOutCalls,
    scaleIns: stats.scaleInTerminations + stats.asgScaleInVictims,
    replacements: stats.replaceTerminations,
    busyTerminated: stats.busyTerminated,
    calls: { ...stats.calls },
    world: stats,
    invocations,
    settled,
    endTime,
    timeline: world.samples,
  };
}
