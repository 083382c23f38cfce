/**
 * The offline floor and the wait-bounded cost bound on hand-computed traces (boot 90 s, shutdown 20 s),
 * and both against exhaustive searches on tiny random traces.
 */
import fc from 'fast-check';
import { percentile } from '../../bench/sim/engine';
import { offlineFloor, waitBoundedCostBound } from '../../bench/sim/floor';
import { DEFAULT_MODEL, minimumOf, type SimModel } from '../../bench/sim/model';
import { parseTrace, type Trace, type TraceRun } from '../../bench/sim/trace';

const BOOT = 90;
const SHUTDOWN = 20;
const model: SimModel = { ...DEFAULT_MODEL, boot: { kind: 'fixed', value: BOOT }, terminateSeconds: SHUTDOWN, maxSize: 20 };

function trace(csv: string): Trace {
  return parseTrace(`submit_s,duration_s\n${csv}`, 'test.csv');
}

function runsTrace(runs: readonly { submit: number; duration: number }[]): Trace {
  return trace(runs.map((run) => `${run.submit},${run.duration}`).join('\n'));
}

function floorSeconds(t: Trace, m: SimModel = model): number {
  return offlineFloor(t, m).instanceHours * 3600;
}

describe('offlineFloor on hand-computed traces', () => {
  test('one run: launched at submit, starts one boot later, shutdown billed after it', () => {
    // Launch 10, start 100, end 200, gone 220.
    const floor = offlineFloor(trace('10,100'), model);
    expect(floor.instanceHours * 3600).toBeCloseTo(210, 9);
    expect(floor.busyHours * 3600).toBeCloseTo(100, 9);
    expect(floor.idleHours * 3600).toBeCloseTo(110, 9);
    expect(floor).toMatchObject({ launches: 1, reuses: 0, waitP95: 90, waitMean: 90 });
  });

  test('a gap shorter than a boot keeps the machine idle across it', () => {
    // Run 1 on 90-190; run 2 at 250 (gap 60) on the same machine 250-300; gone 320.
    const floor = offlineFloor(trace('0,100\n250,50'), model);
    expect(floor.instanceHours * 3600).toBeCloseTo(320, 9);
    expect(floor).toMatchObject({ launches: 1, reuses: 1, waitP95: 90, waitMean: 45 });
  });

  test('a gap of a boot or longer releases the machine and launches another', () => {
    // Gap 110: machine 1 billed 0-210, machine 2 launched 300, runs 390-440, gone 460.
    expect(floorSeconds(trace('0,100\n300,50'))).toBeCloseTo(210 + 160, 9);
    // Gap exactly 90 is not shorter than a boot.
    expect(offlineFloor(trace('0,100\n280,50'), model)).toMatchObject({ launches: 2, reuses: 0 });
    expect(offlineFloor(trace('0,100\n279,50'), model)).toMatchObject({ launches: 1, reuses: 1 });
  });

  test('a simultaneous burst launches one machine per run; a run after it takes one of them', () => {
    const burst = offlineFloor(trace('0,100\n0,100\n0,100'), model);
    expect(burst.instanceHours * 3600).toBeCloseTo(3 * 210, 9);
    expect(burst).toMatchObject({ launches: 3, waitP95: 90 });
    // All three free at 190; a run at 200 keeps one of them 10 s longer (idle 10, busy 30).
    const after = offlineFloor(trace('0,100\n0,100\n0,100\n200,30'), model);
    expect(after.instanceHours * 3600).toBeCloseTo(3 * 210 + 40, 9);
    expect(after).toMatchObject({ launches: 3, reuses: 1 });
  });

  test('a chained run is submitted after its parent ends in the floor schedule', () => {
    // Parent 90-190; the child is submitted 30 s later at 220 (gap 30) and runs 220-270; gone 290.
    const near = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n30,50,b,a', 'chain.csv');
    expect(floorSeconds(near)).toBeCloseTo(290, 9);
    expect(offlineFloor(near, model)).toMatchObject({ launches: 1, reuses: 1, waitMean: 45 });
    // Submitted 100 s after the parent ends (at 290): a new machine, 290-430 billed, 380-430 busy.
    const far = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n100,50,b,a', 'chain.csv');
    expect(floorSeconds(far)).toBeCloseTo(210 + 160, 9);
    expect(offlineFloor(far, model)).toMatchObject({ launches: 2, waitP95: 90 });
  });

  test('at max size a run waits for the first machine to free', () => {
    // One machine: run 1 90-190, run 2 (submitted 10) waits until 190 and runs 190-240; gone 260.
    const floor = offlineFloor(trace('0,100\n10,50'), { ...model, maxSize: 1 });
    expect(floor.instanceHours * 3600).toBeCloseTo(260, 9);
    expect(floor).toMatchObject({ launches: 1, reuses: 1, waitP95: 180, waitMean: 135 });
  });

  test('min size machines exist from time 0, take runs at any gap and are billed to the last run', () => {
    const floor = offlineFloor(trace('500,100'), { ...model, minSize: 1, initialInstances: 1 });
    expect(floor.instanceHours * 3600).toBeCloseTo(600, 9);
    expect(floor).toMatchObject({ launches: 0, reuses: 1, waitP95: 0 });
    // An initial instance above min size follows the gap rule from time 0: kept for a run at 50,
    // released at 0 (billed 0-20) before a run at 500.
    expect(floorSeconds(trace('50,100'), { ...model, initialInstances: 1 })).toBeCloseTo(170, 9);
    expect(floorSeconds(trace('500,100'), { ...model, initialInstances: 1 })).toBeCloseTo(20 + 210, 9);
  });

  test('where the newest-idle choice is not the cheapest: 20 s above the best choice', () => {
    // Machines free at 415 and 410. The run at 470 takes the newest (gap 55); the one freed at 410 has
    // expired when the run at 500 arrives (gap 90), which launches. Taking the older one (gap 60) would
    // leave the newer one for the run at 500 (gap 85): 1130 s instead of 1150 s.
    const t = trace('65,260\n94,226\n470,127\n500,152');
    expect(floorSeconds(t)).toBeCloseTo(1150, 9);
    expect(floorOptimumSeconds(t)).toBe(1130);
  });
});

/**
 * The cheapest schedule under the floor's rules, trying every eligible machine for every run
 * (no chains, no max size, min size 0, no initial instances).
 */
function floorOptimumSeconds(t: Trace): number {
  const runs = [...t.runs].sort((a, b) => a.submit - b.submit || a.id - b.id);
  let best = Infinity;
  const search = (index: number, freeAt: readonly number[], cost: number): void => {
    if (index === runs.length) {
      best = Math.min(best, cost);
      return;
    }
    const { submit, duration } = runs[index];
    let reused = false;
    freeAt.forEach((free, machine) => {
      if (free > submit || submit - free >= BOOT) return;
      reused = true;
      search(index + 1, freeAt.map((other, at) => (at === machine ? submit + duration : other)), cost + submit - free + duration);
    });
    if (!reused) search(index + 1, [...freeAt, submit + BOOT + duration], cost + BOOT + duration + SHUTDOWN);
  };
  search(0, [], 0);
  return best;
}

/**
 * The cheapest schedule of any policy with nearest-rank p95 wait <= limit (no chains, min size 0,
 * no initial instances): every way to split the runs into ordered sequences, one per instance. An
 * instance's first run starts at some time `first` >= its submit and >= one boot (launched at `first -
 * boot` >= 0, the latest launch that makes it); the others start at max(submit, previous end). Cost
 * only falls as `first` grows, so it suffices to try the earliest `first`, the latest that keeps each
 * run of the instance within the limit, and one so late that every run on it is late.
 */
function waitBoundedOptimumSeconds(t: Trace, boot: number, shutdown: number, limit: number): number {
  const runs = t.runs;
  let best = Infinity;
  const evaluate = (instances: readonly (readonly number[])[]): void => {
    const options = instances.map((sequence) => {
      const earliest = Math.max(runs[sequence[0]].submit, boot);
      const candidates = [earliest, 1e9];
      let before = 0;
      for (const id of sequence) {
        candidates.push(Math.max(earliest, runs[id].submit + limit - before));
        before += runs[id].duration;
      }
      return candidates;
    });
    const choose = (index: number, firsts: number[]): void => {
      if (index < instances.length) {
        for (const first of options[index]) choose(index + 1, [...firsts, first]);
        return;
      }
      const waits: number[] = [];
      let cost = 0;
      instances.forEach((sequence, at) => {
        let end = 0;
        sequence.forEach((id, position) => {
          const start = position === 0 ? firsts[at] : Math.max(runs[id].submit, end);
          waits.push(start - runs[id].submit);
          end = start + runs[id].duration;
        });
        cost += end + shutdown - (firsts[at] - boot);
      });
      if (percentile(waits.sort((a, b) => a - b), 0.95) <= limit) best = Math.min(best, cost);
    };
    choose(0, []);
  };
  const place = (id: number, instances: number[][]): void => {
    if (id === runs.length) {
      evaluate(instances);
      return;
    }
    instances.forEach((sequence, at) => {
      for (let position = 0; position <= sequence.length; position++) {
        const placed = instances.map((other) => [...other]);
        placed[at].splice(position, 0, id);
        place(id + 1, placed);
      }
    });
    place(id + 1, [...instances, [id]]);
  };
  place(0, []);
  return best;
}

/** Up to `max` runs on a 10 s grid, so that ends, gaps and deadlines often coincide (the edge cases). */
const tinyRuns = (max: number) =>
  fc.array(fc.record({ submit: tens(90), duration: tens(30) }), { minLength: 1, maxLength: max });

function tens(max: number): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max }).map((value) => value * 10);
}

describe('offlineFloor against every choice its rules allow', () => {
  // Not a proven bound, a guard that the greedy choice stays close to the best one: over 30,000 random traces
  // (seed 42) the worst was 13.9% above the best choice, the first example below; a CI run's random seed found the
  // second (10.1%). The guard is 20%.
  const GUARD = 1.2;
  const withinGuard = (runs: { submit: number; duration: number }[]) => {
    const t = runsTrace(runs);
    const floor = floorSeconds(t);
    const optimum = floorOptimumSeconds(t);
    expect(floor).toBeGreaterThanOrEqual(optimum - 1e-6);
    expect(floor).toBeLessThanOrEqual(optimum * GUARD + 1e-6);
    return floor / optimum;
  };

  test('never below the best choice (the floor is one of them), and within 20% of it', () => {
    fc.assert(fc.property(tinyRuns(6), (runs) => {
      withinGuard(runs);
    }), { numRuns: 500 });
  });

  test.each([
    [[{ submit: 300, duration: 80 }, { submit: 370, duration: 250 }, { submit: 140, duration: 10 }, { submit: 180, duration: 0 },
      { submit: 340, duration: 10 }], 1.139],
    [[{ submit: 490, duration: 50 }, { submit: 160, duration: 150 }, { submit: 420, duration: 80 }, { submit: 590, duration: 0 },
      { submit: 180, duration: 140 }], 1.101],
  ])('the worst traces found: %j is %f of the best choice', (runs, ratio) => {
    expect(withinGuard(runs)).toBeCloseTo(ratio, 3);
  });
});

describe('waitBoundedCostBound on hand-computed traces', () => {
  const launch = BOOT + SHUTDOWN;
  const busySeconds = (t: Trace): number => t.runs.reduce((sum, run) => sum + run.duration, 0);
  const boundSeconds = (t: Trace, limit: number, m: SimModel = model): number => waitBoundedCostBound(t, m, limit).instanceHoursAtLeast * 3600;

  test('a burst: every run needs its own instance, except the one the p95 lets wait', () => {
    // 20 runs 3 s apart, each lasting more than 207 s: none ends before the last one's deadline (57 + 147).
    const burst = runsTrace(Array.from({ length: 20 }, (_, i) => ({ submit: 3 * i, duration: 208 + i })));
    expect(waitBoundedCostBound(burst, model, 147)).toMatchObject({ mayWaitLonger: 1, clusters: 20, chargesAtLeast: 19 * launch });
    expect(boundSeconds(burst, 147)).toBeCloseTo(busySeconds(burst) + 19 * launch, 9);
  });

  test('with no instance at time 0, no run starts before a boot: runs that could follow each other from their submits cannot', () => {
    // Run 1 would end at 60 if it started at once, before run 2's deadline (1 + 100); but no worker exists before 90,
    // so it ends at 150 at the earliest, and run 2 needs an instance of its own.
    const pair = trace('0,60\n1,60');
    expect(boundSeconds(pair, 100)).toBeCloseTo(120 + 2 * launch, 9);
    expect(waitBoundedOptimumSeconds(pair, BOOT, SHUTDOWN, 100)).toBeCloseTo(120 + 2 * launch, 9);
    // An instance alive at time 0 may take run 1 at once, and run 2 after it.
    expect(boundSeconds(pair, 100, { ...model, initialInstances: 1 })).toBeLessThan(120 + 2 * launch);
  });

  test('the idle gap between two runs on one instance is charged when shorter than a boot and a shutdown', () => {
    // Run 2 can start at 200 at the latest 43 s after run 1 ends (at 147 + 10 at the latest).
    const near = trace('0,10\n200,10');
    expect(boundSeconds(near, 147)).toBeCloseTo(20 + launch + 43, 9);
    // And that is what the best schedule pays: launch at 57, run 1 on 147-157, idle to 200, run 2, shutdown.
    expect(waitBoundedOptimumSeconds(near, BOOT, SHUTDOWN, 147)).toBeCloseTo(20 + launch + 43, 9);
    // A gap longer than a boot and a shutdown costs one of those: two instances or one kept idle.
    expect(waitBoundedCostBound(trace('0,10\n1000,10'), model, 147)).toMatchObject({ clusters: 2, chargesAtLeast: 2 * launch });
  });

  test('a run held back (late) saves an instance, once', () => {
    // 20 runs of 100 s at 0 with a p95 of 90 s: 19 instances launched at 0 start them at 90; the 20th run
    // waits for one of them (to 190). Nothing can follow on time: no run ends by 90.
    const twenty = runsTrace(Array.from({ length: 20 }, () => ({ submit: 0, duration: 100 })));
    expect(waitBoundedCostBound(twenty, model, 90)).toMatchObject({ mayWaitLonger: 1, clusters: 20, chargesAtLeast: 19 * launch });
    expect(boundSeconds(twenty, 90)).toBeCloseTo(18 * (BOOT + 100 + SHUTDOWN) + (BOOT + 200 + SHUTDOWN), 9);
  });

  test('a run that follows a late run may pay no gap', () => {
    // 18 runs of 1000 s at 0 on their own instances (90-1090); run 18 (submitted at 100) waits for the
    // first of them (late) and run 19 follows it at once: 18 boots and shutdowns, no gap, p95 90 s.
    const long = Array.from({ length: 18 }, () => ({ submit: 0, duration: 1000 }));
    const t = runsTrace([...long, { submit: 100, duration: 10 }, { submit: 1100, duration: 10 }]);
    const onFirst: Placement = { instance: 0, lead: 0, delay: 0 };
    const placements: Placement[] = [...long.map((): Placement => ({ instance: 'new', lead: 0, delay: 0 })), onFirst, onFirst];
    const schedule = randomSchedule(t, placements, model);
    expect(percentile(schedule.waits, 0.95)).toBe(90);
    expect(schedule.seconds).toBe(busySeconds(t) + 18 * launch);
    // Run 19 could follow a run of 1000 s on time with a gap of 10 s at least; it follows the late one.
    expect(boundSeconds(t, 90)).toBeCloseTo(schedule.seconds, 9);
  });

  test('a run cannot follow itself', () => {
    expect(waitBoundedCostBound(trace('0,10'), model, 147)).toMatchObject({ clusters: 1, chargesAtLeast: launch });
  });

  test('short runs that could follow each other round a cycle still need instances to run them one at a time', () => {
    // Each ends by 13, before every deadline (>= 147): a cycle of four, which one instance runs.
    expect(waitBoundedCostBound(trace('0,10\n1,10\n2,10\n3,10'), model, 147)).toMatchObject({ clusters: 1, chargesAtLeast: launch });
    // Ten runs of 60 s submitted at 0-9 s: an instance starts at most three of them by 159 s (the last
    // deadline), so three instances at least (four in fact: 3 + 3 + 3 + 1).
    const ten = runsTrace(Array.from({ length: 10 }, (_, i) => ({ submit: i, duration: 60 })));
    expect(waitBoundedCostBound(ten, model, 150)).toMatchObject({ clusters: 1, chargesAtLeast: 3 * launch });
  });

  test('two waves an hour apart: the second wave pays its own boots', () => {
    // Ten 300 s runs within 18 s: none can follow another of its wave within a p95 of 147 s, and the
    // instances of the first wave are idle for almost an hour before the second.
    const wave = (at: number) => Array.from({ length: 10 }, (_, i) => ({ submit: at + 2 * i, duration: 300 }));
    const waves = runsTrace([...wave(0), ...wave(3600)]);
    // 20 instances, less the two the late run may save (itself, and the run that may follow it).
    expect(boundSeconds(waves, 147)).toBeCloseTo(busySeconds(waves) + 18 * launch, 9);
    // The same second wave right after the first can reuse its instances.
    const close = runsTrace([...wave(0), ...wave(330)]);
    expect(boundSeconds(close, 147)).toBeLessThan(busySeconds(close) + 12 * launch);
  });

  test('chained runs are never counted as first runs', () => {
    const chain = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n5,100,b,a\n5,100,c,b', 'chain.csv');
    expect(boundSeconds(chain, 147)).toBeCloseTo(300 + launch, 9);
  });

  test('initial instances pay no boot but are billed from time 0, and with min size > 0 no shutdown is counted', () => {
    const four = trace('0,200\n1,200\n2,200\n3,200');
    // Three runs start on the initial instances (billed from 0 to their submits 0, 1, 2, then a shutdown).
    expect(boundSeconds(four, 147, { ...model, initialInstances: 3 })).toBeCloseTo(800 + 3 * SHUTDOWN + 3 + launch, 9);
    expect(boundSeconds(four, 147, { ...model, minSize: 1, initialInstances: 1 })).toBeCloseTo(800 + 3 * BOOT, 9);
  });
});

/** Where a run of `randomSchedule` goes and how long it is held back. */
interface Placement {
  /**
   * A new instance; the one at this index (modulo the count) of those there; or the one free first, if
   * the run can start there within `within` seconds of its submit (else a new one).
   */
  readonly instance: 'new' | number | { readonly within: number };
  /** How long before the latest launch that makes the start a new instance is launched. */
  readonly lead: number;
  /** How long the run is held back after it could start. */
  readonly delay: number;
}

/**
 * A schedule some policy could produce on the model (no faults, no max size): runs in an order that
 * puts a parent before its children, each on an instance already there, after its last run, or on a new
 * one launched at or after 0 and at least a boot before the run starts, held back by its delay. Initial
 * instances are billed from 0. Every instance terminates after its last run. Returns the instance-seconds
 * billed and the sorted waits.
 */
function randomSchedule(t: Trace, placements: readonly Placement[], m: SimModel): { seconds: number; waits: number[] } {
  const boot = minimumOf(m.boot);
  const instances = Array.from({ length: m.initialInstances }, () => ({ launchedAt: 0, freeAt: 0 }));
  const ends = new Map<number, number>();
  const waits: number[] = [];
  const place = (run: TraceRun): void => {
    if (ends.has(run.id)) return;
    if (run.after !== undefined) place(t.runs[run.after]);
    const submit = run.after === undefined ? run.submit : ends.get(run.after)! + run.submit;
    const { instance, lead, delay } = placements[ends.size % placements.length];
    const firstFree = [...instances].sort((a, b) => a.freeAt - b.freeAt)[0];
    const chosen =
      instance === 'new' || firstFree === undefined
        ? undefined
        : typeof instance === 'number'
          ? instances[instance % instances.length]
          : firstFree.freeAt <= submit + instance.within
            ? firstFree
            : undefined;
    const start = Math.max(submit, chosen?.freeAt ?? boot) + delay;
    if (chosen === undefined) instances.push({ launchedAt: Math.max(0, start - boot - lead), freeAt: start + run.duration });
    else chosen.freeAt = start + run.duration;
    ends.set(run.id, start + run.duration);
    waits.push(start - submit);
  };
  t.runs.forEach(place);
  const seconds = instances.reduce((sum, instance) => sum + instance.freeAt + m.terminateSeconds - instance.launchedAt, 0);
  return { seconds, waits: waits.sort((x, y) => x - y) };
}

/**
 * Random runs, a third of them chained to an earlier one (their submit is a delay after the parent ends),
 * the others submitted at any time up to 3000 s, or in waves at 0, 400 and 3600 s.
 */
const chainedTrace = (minRuns: number, maxRuns: number): fc.Arbitrary<Trace> =>
  fc
    .array(
      fc.record({
        submit: fc.oneof(
          fc.integer({ min: 0, max: 3000 }),
          fc.tuple(fc.constantFrom(0, 400, 3600), fc.integer({ min: 0, max: 30 })).map(([wave, jitter]) => wave + jitter),
        ),
        duration: fc.integer({ min: 0, max: 600 }),
        parent: fc.nat(),
      }),
      { minLength: minRuns, maxLength: maxRuns },
    )
    .map((rows) => {
      const csv = rows.map((row, i) => {
        const after = i > 0 && row.parent % 3 === 0 ? `r${row.parent % i}` : '';
        return `${after === '' ? row.submit : row.submit % 60},${row.duration},r${i},${after}`;
      });
      return parseTrace(`submit_s,duration_s,id,after\n${csv.join('\n')}`, 'random.csv');
    });

/** A burst of long runs within 30 s, where the bound is tight: few runs can follow another on time. */
const longBurst = (minRuns: number, maxRuns: number): fc.Arbitrary<Trace> =>
  fc
    .array(fc.record({ submit: fc.integer({ min: 0, max: 30 }), duration: fc.integer({ min: 200, max: 600 }) }), {
      minLength: minRuns,
      maxLength: maxRuns,
    })
    .map(runsTrace);

describe('waitBoundedCostBound is sound', () => {
  test('never above the cheapest schedule of any policy within the p95 limit (tiny traces)', () => {
    fc.assert(
      fc.property(
        tinyRuns(5),
        tens(12),
        tens(3),
        tens(30),
        (runs, boot, shutdown, limit) => {
          const t = runsTrace(runs);
          const m: SimModel = { ...model, boot: { kind: 'fixed', value: boot }, terminateSeconds: shutdown };
          const bound = waitBoundedCostBound(t, m, limit).instanceHoursAtLeast * 3600;
          expect(bound).toBeLessThanOrEqual(waitBoundedOptimumSeconds(t, boot, shutdown, limit) + 1e-6);
        },
      ),
      { numRuns: 500 },
    );
  });

  const soundAgainst = (t: Trace, placements: readonly Placement[], m: SimModel): void => {
    const schedule = randomSchedule(t, placements, m);
    const bound = waitBoundedCostBound(t, m, percentile(schedule.waits, 0.95)).instanceHoursAtLeast * 3600;
    expect(bound).toBeLessThanOrEqual(schedule.seconds + 1e-6);
  };
  const smallModel = (boot: number, shutdown: number, initialInstances: number): SimModel => ({
    ...model,
    boot: { kind: 'fixed', value: boot },
    terminateSeconds: shutdown,
    initialInstances,
  });

  test('never above a random schedule at its own p95 wait (up to 60 runs: late ones, chains, speculative launches)', () => {
    const placement: fc.Arbitrary<Placement> = fc.record({
      instance: fc.oneof(fc.constant<'new'>('new'), fc.nat(30), fc.record({ within: fc.integer({ min: 0, max: 600 }) })),
      lead: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 600 })),
      delay: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5000 })),
    });
    fc.assert(
      fc.property(
        chainedTrace(1, 60),
        fc.array(placement, { minLength: 1, maxLength: 60 }),
        tens(12),
        tens(3),
        fc.nat(3),
        (t, placements, boot, shutdown, initial) => soundAgainst(t, placements, smallModel(boot, shutdown, initial)),
      ),
      { numRuns: 1000 },
    );
  });

  test('never above a thrifty schedule at its own p95 wait (20 to 60 runs, some held back: late ones)', () => {
    // Runs take the instance free first when they can start within `hold`, or always when held back, and
    // new instances launch just in time: close to the cheapest schedules, so that the bound is put to the test.
    fc.assert(
      fc.property(
        fc.oneof(chainedTrace(20, 60), longBurst(20, 60)),
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.nat(19).map((draw) => draw === 0), { minLength: 1, maxLength: 60 }),
        tens(12),
        tens(3),
        fc.nat(3),
        (t, hold, heldBack, boot, shutdown, initial) => {
          const placements = heldBack.map((held) => ({ instance: { within: held ? Infinity : hold }, lead: 0, delay: 0 }));
          soundAgainst(t, placements, smallModel(boot, shutdown, initial));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('never above the floor at the floor own p95 wait (up to 40 runs, with chains and max size)', () => {
    fc.assert(
      fc.property(chainedTrace(1, 40), fc.integer({ min: 1, max: 20 }), (t, maxSize) => {
        const m = { ...model, maxSize };
        const floor = offlineFloor(t, m);
        expect(waitBoundedCostBound(t, m, floor.waitP95).instanceHoursAtLeast).toBeLessThanOrEqual(floor.instanceHours + 1e-9);
      }),
      { numRuns: 300 },
    );
  });
});
