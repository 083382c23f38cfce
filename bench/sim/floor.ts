/**
 * Two offline cost references for a trace, in instance-hours, for fault-free models.
 *
 * ## `offlineFloor`: an offline floor that pays every boot
 *
 * A reference schedule that knows every run's duration but cannot launch before a run is submitted,
 * and keeps an idle machine across a gap only when the gap is shorter than a boot (ski rental in
 * hindsight). Rules, with boot `B` = the fastest boot of the model and shutdown `T` = its terminate time:
 * - Billing starts at trace time 0. A machine is billed from its launch; a released machine until its
 *   release plus `T`.
 * - A run submitted at `s` takes an idle machine that became free at `f <= s` when `s - f < B` (the
 *   machine was kept idle across the gap, billed); otherwise a machine is launched at `s` and the run
 *   starts at `s + B`. Reuse is mandatory when possible: it saves `B + T - gap > 0` against a launch.
 * - Among several eligible machines the run takes the one idle the shortest time (the newest idle
 *   machine, as Spacelift assigns runs in the simulator), since each reuse bills its gap. This is not
 *   optimal in every case: taking the machine idle longest keeps the newer one for a later run and
 *   maximises the number of reuses, but bills longer gaps. An exhaustive search over all choices on
 *   tiny traces (test/sim/floor.test.ts) finds the newest-idle rule within a few percent of the best
 *   choice and equal to it on almost all traces; the earliest-freed rule does worse on the suite's traces.
 * - A machine not reused within `B` of becoming free is released when it became free.
 * - A chained run is submitted `submit` seconds after its parent ends in this schedule.
 * - When `maxSize` machines are all busy, the run waits for the first one to free and starts then.
 * - The initial instances (`min(maxSize, max(minSize, initialInstances))`) are idle at time 0, when
 *   their billing starts, and follow the gap rule from there. With `minSize > 0`, `minSize` of them are
 *   never released: billed until the last run ends and always eligible (taken first, their idle time is
 *   billed anyway).
 *
 * ## `waitBoundedCostBound`: a lower bound for any policy that keeps its p95 wait within a limit
 *
 * Sound for any schedule on the model, speculative launches included, whose nearest-rank p95 wait is at
 * most `W`, assuming no faults (every run runs its full duration once), at most the initial instances
 * alive at time 0 (nothing launched in the simulator's warm-up), and, when `minSize` is 0, every
 * instance terminated before the end (the simulation settles). Proof:
 * 1. p95 <= W means at least `ceil(0.95 n)` runs wait at most `W`: at most `k = n - ceil(0.95 n)` wait
 *    longer.
 * 2. An instance runs one run at a time. Its billed time is at least its busy time, plus the boot before
 *    its first run (at least the fastest launch to registration, unless it existed at time 0), plus `T`
 *    after its last run when it terminates (`minSize` 0). These intervals are disjoint.
 * 3. A run `i` that is not the first on its instance follows the run `j != i` that ended there last:
 *    `e_j <= end_j <= start_i`, where `e_j` = its earliest start (`earliestStarts`) plus its duration.
 *    If `i` waits at most `W`, `start_i <= s_i + W`. Each run is followed by at most one run on its
 *    instance, so the runs that are on time and not first are matched to distinct predecessors `j` with
 *    `e_j <= s_i + W`: there are at most `M`, the maximum matching of that graph.
 * 4. Chained runs have policy-dependent submit times: they are never counted as first runs (only as
 *    predecessors). Of the `n_top` other runs, at least `n_top - k - M` are first on their instance, and
 *    any trace needs one instance (the matching may pair short runs in a cycle, which no instance can run).
 *    So at least `max(1, n_top - k - M)` instances, all but the initial ones launched at or after time 0,
 *    each paying a boot (and `T`). Hence instance-hours >= (sum of durations + max(0, max(1, n_top - k - M)
 *    - initial) * (B + T)) / 3600.
 */
import { percentile } from './engine';
import { minimumOf, type SimModel } from './model';
import { earliestStarts, type Trace, type TraceRun } from './trace';

export interface FloorResult {
  readonly instanceHours: number;
  readonly busyHours: number;
  /** Instance-hours not running a run: boots, kept idle gaps, shutdowns. */
  readonly idleHours: number;
  readonly launches: number;
  /** Runs that took a machine already there (kept idle, initial, or freed while the run waited at max size). */
  readonly reuses: number;
  /** Nearest-rank p95 of the waits, seconds: each is 0 or one boot, except when max size holds a run back. */
  readonly waitP95: number;
  readonly waitMean: number;
}

export interface WaitBound {
  readonly instanceHoursAtLeast: number;
  /** Instances that must be launched (each paying a boot and, with min size 0, a shutdown). */
  readonly instancesAtLeast: number;
  /** Runs that may wait longer than the limit with the p95 still within it. */
  readonly mayWaitLonger: number;
  /** The most runs that can be on time and follow another run on its instance. */
  readonly matching: number;
}

/** One line for reports. */
export function describeFloorRules(): string {
  return (
    'offline floor: launch at submit (the run starts one fastest boot later), keep an idle machine only across a gap ' +
    'shorter than a boot (the newest idle one first), pay a shutdown on release; wait bound: no policy with that p95 ' +
    'wait pays less than the run time plus a boot and a shutdown per run that cannot follow another run on time'
  );
}

interface Machine {
  readonly launchedAt: number;
  freeAt: number;
  readonly kept: boolean;
  releasedAt?: number;
}

export function offlineFloor(trace: Trace, model: SimModel): FloorResult {
  const boot = minimumOf(model.boot);
  const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
  const machines: Machine[] = Array.from({ length: initial }, (_, index) => ({
    launchedAt: 0,
    freeAt: 0,
    kept: index < model.minSize,
  }));
  const children = new Map<number, TraceRun[]>();
  for (const run of trace.runs) {
    if (run.after !== undefined) children.set(run.after, [...(children.get(run.after) ?? []), run]);
  }
  // Runs by submit time (ties by id); a chained run joins when its parent's end is known.
  const queue: { run: TraceRun; submit: number }[] = trace.runs
    .filter((run) => run.after === undefined)
    .map((run) => ({ run, submit: run.submit }))
    .sort((a, b) => a.submit - b.submit || a.run.id - b.run.id);
  const enqueue = (entry: { run: TraceRun; submit: number }): void => {
    const at = queue.findIndex((other) => other.submit > entry.submit || (other.submit === entry.submit && other.run.id > entry.run.id));
    queue.splice(at < 0 ? queue.length : at, 0, entry);
  };

  const waits: number[] = [];
  let launches = 0;
  let reuses = 0;
  let busySeconds = 0;
  let lastEnd = 0;
  for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
    const { run, submit } = entry;
    const live = machines.filter((machine) => machine.releasedAt === undefined);
    for (const machine of live) {
      if (!machine.kept && machine.freeAt <= submit && submit - machine.freeAt >= boot) machine.releasedAt = machine.freeAt;
    }
    const open = live.filter((machine) => machine.releasedAt === undefined);
    const idleCost = (machine: Machine): number => (machine.kept ? 0 : submit - machine.freeAt);
    const eligible = open.filter((machine) => machine.freeAt <= submit).sort((a, b) => idleCost(a) - idleCost(b));
    let machine: Machine;
    let start: number;
    if (eligible.length > 0) {
      machine = eligible[0];
      start = submit;
      reuses++;
    } else if (open.length < model.maxSize) {
      machine = { launchedAt: submit, freeAt: submit, kept: false };
      machines.push(machine);
      start = submit + boot;
      launches++;
    } else if (open.length > 0) {
      // At max size every machine is busy: wait for the first to free.
      machine = open.reduce((first, other) => (other.freeAt < first.freeAt ? other : first));
      start = machine.freeAt;
      reuses++;
    } else {
      throw new Error(`offlineFloor: max size ${model.maxSize} cannot start run ${run.id}`);
    }
    machine.freeAt = start + run.duration;
    busySeconds += run.duration;
    lastEnd = Math.max(lastEnd, machine.freeAt);
    waits.push(start - submit);
    for (const child of children.get(run.id) ?? []) enqueue({ run: child, submit: machine.freeAt + child.submit });
  }

  let instanceSeconds = 0;
  for (const machine of machines) {
    const billedUntil = machine.kept ? lastEnd : (machine.releasedAt ?? machine.freeAt) + model.terminateSeconds;
    instanceSeconds += billedUntil - machine.launchedAt;
  }
  waits.sort((a, b) => a - b);
  return {
    instanceHours: instanceSeconds / 3600,
    busyHours: busySeconds / 3600,
    idleHours: (instanceSeconds - busySeconds) / 3600,
    launches,
    reuses,
    waitP95: percentile(waits, 0.95),
    waitMean: waits.length === 0 ? 0 : waits.reduce((a, b) => a + b, 0) / waits.length,
  };
}

/**
 * The maximum matching of step 3 above. Successors `i` (unchained runs) are taken by deadline
 * `s_i + W`; a successor's candidates are then a prefix of the predecessors by `e_j`, minus itself.
 * Greedy, each successor takes an unused candidate other than itself, preferring one that is itself a
 * successor still to come, the one with the earliest deadline. Exchange argument: let an optimum agree
 * with the greedy before `i`, which takes `j`. If the optimum leaves `i` unmatched, move `j` to `i`
 * (from its later partner, if any). If it gives `i` some `j'` and `j` to a later `i'`, give `j'` to `i'`
 * (`e_j' <= s_i + W <= s_i' + W`) unless `j' = i'`; then `i'` was a candidate to come, so `j` is one
 * with a deadline no later than `i'`'s, and the optimum's `(i' -> i, j -> i', x -> j)` becomes
 * `(j -> i, i' -> j, x -> i')`, all valid. If the greedy finds no candidate for `i`, every candidate
 * other than `i` was used before `i` in both. Either way the optimum keeps its size.
 */
function maxOnTimeFollowers(trace: Trace, p95Limit: number): number {
  const earliest = earliestStarts(trace);
  const predecessors = trace.runs
    .map((run) => ({ id: run.id, end: earliest[run.id] + run.duration }))
    .sort((a, b) => a.end - b.end || a.id - b.id);
  const successors = trace.runs
    .filter((run) => run.after === undefined)
    .map((run) => ({ id: run.id, deadline: run.submit + p95Limit }))
    .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
  const order = new Map(successors.map((successor, index) => [successor.id, index]));
  // Unused candidates: successors to come, flagged by their position in `successors`; any others, counted.
  const comingInPool = new Array<boolean>(successors.length).fill(false);
  let othersInPool = 0;
  let next = 0;
  let matched = 0;
  successors.forEach((successor, position) => {
    for (; next < predecessors.length && predecessors[next].end <= successor.deadline; next++) {
      const at = order.get(predecessors[next].id);
      if (at !== undefined && at >= position) comingInPool[at] = true;
      else othersInPool++;
    }
    const selfInPool = comingInPool[position];
    comingInPool[position] = false;
    const coming = comingInPool.indexOf(true, position + 1);
    if (coming >= 0) {
      comingInPool[coming] = false;
      matched++;
    } else if (othersInPool > 0) {
      othersInPool--;
      matched++;
    }
    // From now on this run is a candidate like any other for later successors.
    if (selfInPool) othersInPool++;
  });
  return matched;
}

export function waitBoundedCostBound(trace: Trace, model: SimModel, p95Limit: number): WaitBound {
  const n = trace.runs.length;
  // The rank of the p95 in `percentile`: at least that many runs wait at most the p95.
  const onTime = n === 0 ? 0 : percentile([...Array(n).keys()], 0.95) + 1;
  const mayWaitLonger = n - onTime;
  const matching = maxOnTimeFollowers(trace, p95Limit);
  const unchained = trace.runs.filter((run) => run.after === undefined).length;
  const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
  const instances = n === 0 ? 0 : Math.max(1, unchained - mayWaitLonger - matching);
  const instancesAtLeast = Math.max(0, instances - initial);
  // The fastest way to a registered worker: a boot, or a warm-pool resume.
  const boot = Math.min(minimumOf(model.boot), model.warmPool?.resumeSeconds ?? Infinity);
  const shutdown = model.minSize === 0 ? model.terminateSeconds : 0;
  const runSeconds = trace.runs.reduce((sum, run) => sum + run.duration, 0);
  return {
    instanceHoursAtLeast: (runSeconds + instancesAtLeast * (boot + shutdown)) / 3600,
    instancesAtLeast,
    mayWaitLonger,
    matching,
  };
}
