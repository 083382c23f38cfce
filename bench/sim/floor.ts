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
 *   tiny traces (test/sim/floor.test.ts) finds the newest-idle rule at most 14% above the best choice (30,000
 *   random traces) and equal to it on almost all; the earliest-freed rule does worse on the suite's traces.
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
 * most `W`, assuming no faults (every run runs its full duration once, on one instance), at most the
 * initial instances alive at time 0 (nothing launched in the simulator's warm-up), and, when `minSize` is
 * 0, every instance terminated before the end (the simulation settles). `B` is the fastest launch to
 * registration (a boot or a warm-pool resume), `T` the terminate time when `minSize` is 0 (else 0), `c = B + T`.
 * Run `r` lasts `d_r`; `a_r` is its earliest start (`earliestStarts`: its submit `s_r`, or for a chained run its
 * parent's earliest end plus its delay; with no initial instance, at least `B`, since every instance is then
 * launched at or after 0 and registers at least `B` later) and `e_r = a_r + d_r`; in the schedule it starts at
 * `t_r >= a_r` and ends at `t_r + d_r >= e_r`. Proof:
 * 1. p95 <= W: at most `k = n - ceil(0.95 n)` runs wait longer than `W` (late). An unchained run that is
 *    not late ends by `s_r + d_r + W`; a chained run's submit depends on the schedule: nothing bounds its end.
 * 2. An instance runs its runs one at a time, `r_1, ..., r_m` in order. Its billed time is at least its
 *    busy time plus disjoint parts: before `r_1`, at least `B` if it was launched (at or after 0, and
 *    registered `B` later), at least `t_{r_1} >= a_{r_1}` if it is an initial one (billed from 0); the gap
 *    `t_i - (t_j + d_j) >= 0` before each run `i` that follows `j`; `T` after `r_m`. So instance-hours are
 *    the run time plus a charge per run: `c` for the first run of a launched instance, at least `a_i + T`
 *    for the first run of an initial one, the gap for a follower.
 * 3. `i` can follow `j != i` only if `e_j <= t_i`: if `i` is unchained and not late, only if
 *    `e_j <= s_i + W`. The gap is at least `g(j, i) = max(0, a_i - s_j - d_j - W)` if `j` is unchained and
 *    not late, and 0 otherwise. Let `cost(i, j) = min(c, g(j, i))` if `i` can follow `j` ignoring lateness,
 *    else `c` (also for `j = i`).
 * 4. Assignment bound: give each run (row) a distinct column: one per run (`cost(i, j)`), `k` late ones
 *    (cost 0), `k` late-predecessor ones (0 if `i` can follow some run by 3., else `c`), one per initial
 *    instance (`a_i + T`). A late unchained run takes a late column; a run that follows a late
 *    unchained run takes a late-predecessor column; the first run of an initial instance takes its
 *    column; any other follower of `j` takes column `j` (a run has at most one follower) at a cost within
 *    its gap; the remaining rows, first runs of launched instances (charged `c`), take run columns left
 *    over (there are enough) at a cost of at most `c`. The cheapest assignment is at most the charges.
 * 5. Cluster bound: the cheapest assignment onto the run columns alone may pair runs in cycles, which no
 *    instance runs (a wave of short runs following each other round a cycle pays no boot). Cut the
 *    schedule's instance sequences before and after each late unchained run, and charge `c` for each cut
 *    and for the first run of each initial instance: at most `(2k + initial) c` more than the charges of
 *    2., and every pair left satisfies 3. with all runs on time. Clusters are the connected components of
 *    the pairs with `cost < c`. Each maximal stretch of a cut sequence inside a cluster starts with a run
 *    charged at least `c` (a first run, or one following a run of another cluster). The cluster's rows
 *    cost at least its part `A_K` of the run-columns assignment (which splits by cluster: pairs across
 *    clusters cost `c`), and `c` per stretch. There are `m >= 1` stretches (sequences have no cycles), and
 *    the unchained runs of a stretch run one at a time, each started in `[s_r, s_r + W]` and ended by
 *    `e_r + W` if on time: a stretch's unchained work is at most `span` (the cluster's first submit to its
 *    last `e_r + W`) and at most `starts` (first submit to last `s_r + W`) plus the duration of its last
 *    run; a late run, a stretch of its own, is within both too. So the cluster's unchained work is at most
 *    `m span` and at most `m starts` plus its `m` longest durations (`minimumStretches`). So the charges
 *    are at least the sum over clusters of `max(A_K, c m)`, minus `(2k + initial) c`.
 * 6. With no initial instance, some instance is launched: the charges are at least `c`.
 * The bound is the run time plus the largest of 4., 5. and 6.
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
  /** Seconds billed beyond the run time: boots, gaps and shutdowns (the charges of the proof, step 2). */
  readonly chargesAtLeast: number;
  /** Runs that may wait longer than the limit with the p95 still within it. */
  readonly mayWaitLonger: number;
  /** Clusters of runs that can follow each other for less than a boot and a shutdown (step 5). */
  readonly clusters: number;
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
 * The cost of the cheapest assignment of `rows` rows to distinct columns (`rows <= columns`), `cost` a
 * row-major `rows x columns` matrix: the Hungarian method with shortest augmenting paths, O(rows^2 columns).
 */
function cheapestAssignment(rows: number, columns: number, cost: Float64Array): number {
  // 1-based as in the classic formulation; column 0 is the virtual start of each augmenting path.
  const rowPotential = new Float64Array(rows + 1);
  const columnPotential = new Float64Array(columns + 1);
  const rowOf = new Int32Array(columns + 1);
  const previous = new Int32Array(columns + 1);
  const slack = new Float64Array(columns + 1);
  const visited = new Uint8Array(columns + 1);
  for (let row = 1; row <= rows; row++) {
    rowOf[0] = row;
    slack.fill(Infinity);
    visited.fill(0);
    let column = 0;
    do {
      visited[column] = 1;
      const from = rowOf[column];
      let delta = Infinity;
      let next = 0;
      for (let other = 1; other <= columns; other++) {
        if (visited[other]) continue;
        const reduced = cost[(from - 1) * columns + other - 1] - rowPotential[from] - columnPotential[other];
        if (reduced < slack[other]) {
          slack[other] = reduced;
          previous[other] = column;
        }
        if (slack[other] < delta) {
          delta = slack[other];
          next = other;
        }
      }
      for (let other = 0; other <= columns; other++) {
        if (visited[other]) {
          rowPotential[rowOf[other]] += delta;
          columnPotential[other] -= delta;
        } else {
          slack[other] -= delta;
        }
      }
      column = next;
    } while (rowOf[column] !== 0);
    do {
      const back = previous[column];
      rowOf[column] = rowOf[back];
      column = back;
    } while (column !== 0);
  }
  let total = 0;
  for (let column = 1; column <= columns; column++) {
    if (rowOf[column] !== 0) total += cost[(rowOf[column] - 1) * columns + column - 1];
  }
  return total;
}

/** Connected components of `count` nodes joined by `edges`: each node's component label. */
function components(count: number, edges: readonly (readonly [number, number])[]): number[] {
  const parent = Array.from({ length: count }, (_, node) => node);
  const root = (node: number): number => {
    while (parent[node] !== node) node = parent[node] = parent[parent[node]];
    return node;
  };
  for (const [a, b] of edges) parent[root(a)] = root(b);
  return parent.map((_, node) => root(node));
}

/** Seconds of rounding forgiven when comparing sums of trace times, always in the policy's favour. */
const TOLERANCE = 1e-6;

/**
 * The fewest instance stretches that can run `runs` (unchained, all on time) one at a time each: `m` stretches
 * must hold the work, each at most `span` (first submit to last `e_r + W`), and each at most `starts` (first
 * submit to last `s_r + W`) plus its last run, at most one of the `m` longest runs.
 */
function minimumStretches(runs: readonly TraceRun[], p95Limit: number): number {
  if (runs.length === 0) return 1;
  const work = runs.reduce((sum, run) => sum + run.duration, 0);
  const first = Math.min(...runs.map((run) => run.submit));
  const span = Math.max(...runs.map((run) => run.submit + run.duration)) + p95Limit - first;
  const starts = Math.max(...runs.map((run) => run.submit)) + p95Limit - first;
  const longest = runs.map((run) => run.duration).sort((a, b) => b - a);
  let stretches = 1;
  let lasts = longest[0];
  const holds = (m: number, lastsWork: number): boolean => work <= m * span + TOLERANCE && work <= m * starts + lastsWork + TOLERANCE;
  while (stretches < runs.length && !holds(stretches, lasts)) lasts += longest[stretches++];
  return stretches;
}

export function waitBoundedCostBound(trace: Trace, model: SimModel, p95Limit: number): WaitBound {
  const runs = trace.runs;
  const n = runs.length;
  // The rank of the p95 in `percentile`: at least that many runs wait at most the p95.
  const onTime = n === 0 ? 0 : percentile([...Array(n).keys()], 0.95) + 1;
  const mayWaitLonger = n - onTime;
  const initial = Math.min(model.maxSize, Math.max(model.minSize, model.initialInstances));
  // The fastest way to a registered worker: a boot, or a warm-pool resume.
  const boot = Math.min(minimumOf(model.boot), model.warmPool?.resumeSeconds ?? Infinity);
  const shutdown = model.minSize === 0 ? model.terminateSeconds : 0;
  const launch = boot + shutdown;
  const runSeconds = runs.reduce((sum, run) => sum + run.duration, 0);
  // With no instance alive at time 0, none registers before B: no run starts sooner.
  const earliest = earliestStarts(trace, initial === 0 ? boot : 0);
  const earliestEnd = runs.map((run) => earliest[run.id] + run.duration);
  // The latest an unchained run that is not late can end, W after it would end if it started at its submit.
  const latestOnTimeEnd = runs.map((run) => run.submit + run.duration + p95Limit);

  // Step 3: cost(i, j) of run i following run j.
  const pairCost = (i: TraceRun, j: TraceRun): number => {
    if (i.id === j.id) return launch;
    if (i.after === undefined && earliestEnd[j.id] > i.submit + p95Limit + TOLERANCE) return launch;
    const gap = j.after === undefined ? earliest[i.id] - latestOnTimeEnd[j.id] : 0;
    return Math.min(launch, Math.max(0, gap));
  };

  // Step 4: run columns, k for late runs, k for their followers, one per initial instance.
  const late = mayWaitLonger;
  const columns = n + 2 * late + initial;
  const withLate = new Float64Array(n * columns);
  const cheapPairs: [number, number][] = [];
  for (const i of runs) {
    const row = i.id * columns;
    for (const j of runs) {
      withLate[row + j.id] = pairCost(i, j);
      if (withLate[row + j.id] < launch) cheapPairs.push([i.id, j.id]);
    }
    const canFollow = runs.some((j) => j.id !== i.id && (i.after !== undefined || earliestEnd[j.id] <= i.submit + p95Limit + TOLERANCE));
    for (let column = n; column < n + late; column++) withLate[row + column] = 0;
    for (let column = n + late; column < n + 2 * late; column++) withLate[row + column] = canFollow ? 0 : launch;
    for (let column = n + 2 * late; column < columns; column++) withLate[row + column] = earliest[i.id] + shutdown;
  }
  const assignmentBound = cheapestAssignment(n, columns, withLate);

  // Step 5, cluster by cluster: clusters are joined by the pairs cheaper than a launch.
  const label = components(n, cheapPairs);
  const clusters = new Map<number, TraceRun[]>();
  for (const run of runs) {
    const members = clusters.get(label[run.id]);
    if (members === undefined) clusters.set(label[run.id], [run]);
    else members.push(run);
  }
  let clusterSum = 0;
  for (const members of clusters.values()) {
    const size = members.length;
    const costs = new Float64Array(size * size);
    members.forEach((i, row) => members.forEach((j, column) => (costs[row * size + column] = withLate[i.id * columns + j.id])));
    const stretches = minimumStretches(members.filter((run) => run.after === undefined), p95Limit);
    clusterSum += Math.max(cheapestAssignment(size, size, costs), stretches * launch);
  }
  const clusterBound = clusterSum - (2 * late + initial) * launch;

  // Step 6.
  const oneLaunch = n > 0 && initial === 0 ? launch : 0;
  const chargesAtLeast = Math.max(assignmentBound, clusterBound, oneLaunch);
  return {
    instanceHoursAtLeast: (runSeconds + chargesAtLeast) / 3600,
    chargesAtLeast,
    mayWaitLonger,
    clusters: clusters.size,
  };
}
