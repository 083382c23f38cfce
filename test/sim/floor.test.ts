/**
 * The offline floor and the wait-bounded cost bound on hand-computed traces (boot 90 s, shutdown 20 s),
 * and both against exhaustive searches on tiny random traces.
 */
import fc from 'fast-check';
import { percentile } from '../../bench/sim/engine';
import { offlineFloor, waitBoundedCostBound } from '../../bench/sim/floor';
import { DEFAULT_MODEL, type SimModel } from '../../bench/sim/model';
import { parseTrace, type Trace } from '../../bench/sim/trace';

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
  test('never below the best choice (the floor is one of them), and within 10% of it', () => {
    // Observed: equal on about 99.8% of tiny traces, and up to 6% above (820 s against 870 s); not a proven bound,
    // a guard that the greedy choice stays close to the best one.
    fc.assert(
      fc.property(tinyRuns(6), (runs) => {
        const t = runsTrace(runs);
        const floor = floorSeconds(t);
        const optimum = floorOptimumSeconds(t);
        expect(floor).toBeGreaterThanOrEqual(optimum - 1e-6);
        expect(floor).toBeLessThanOrEqual(optimum * 1.1 + 1e-6);
      }),
      { numRuns: 500 },
    );
  });
});

describe('waitBoundedCostBound on hand-computed traces', () => {
  test('a burst: every run needs its own instance, except the one the p95 lets wait', () => {
    // 20 runs 3 s apart, each lasting more than 207 s: none ends before the last one's deadline (57 + 147).
    const runs = Array.from({ length: 20 }, (_, i) => ({ submit: 3 * i, duration: 208 + i }));
    const bound = waitBoundedCostBound(runsTrace(runs), model, 147);
    expect(bound).toMatchObject({ mayWaitLonger: 1, matching: 0, instancesAtLeast: 19 });
    const runSeconds = runs.reduce((sum, run) => sum + run.duration, 0);
    expect(bound.instanceHoursAtLeast * 3600).toBeCloseTo(runSeconds + 19 * (BOOT + SHUTDOWN), 9);
  });

  test('short runs can follow each other on time, so the bound drops', () => {
    const long = waitBoundedCostBound(trace('0,200\n1,200\n2,200\n3,200'), model, 147);
    expect(long).toMatchObject({ mayWaitLonger: 0, matching: 0, instancesAtLeast: 4 });
    // Each run ends by 13, before every deadline (>= 147): the matching pairs them in a cycle of four,
    // and one instance can run them all.
    const short = waitBoundedCostBound(trace('0,10\n1,10\n2,10\n3,10'), model, 147);
    expect(short).toMatchObject({ matching: 4, instancesAtLeast: 1 });
    expect(short.instanceHoursAtLeast * 3600).toBeCloseTo(40 + BOOT + SHUTDOWN, 9);
  });

  test('a run cannot follow itself', () => {
    expect(waitBoundedCostBound(trace('0,10'), model, 147)).toMatchObject({ matching: 0, instancesAtLeast: 1 });
    expect(waitBoundedCostBound(trace('0,10\n1000,10'), model, 147)).toMatchObject({ matching: 1, instancesAtLeast: 1 });
  });

  test('a successor to come is taken first, so the later one is not left with only itself', () => {
    // Deadlines 147, 247, 297; ends 0, 1100, 150. Run 0 finds only itself. Run 1 finds run 0 (done) and
    // run 2 (to come): taking run 0 would leave run 2 only itself; taking run 2 lets run 2 take run 0.
    expect(waitBoundedCostBound(trace('0,0\n100,1000\n150,0'), model, 147).matching).toBe(2);
  });

  test('chained runs are never counted as first runs', () => {
    const chain = parseTrace('submit_s,duration_s,id,after\n0,100,a,\n5,100,b,a\n5,100,c,b', 'chain.csv');
    const bound = waitBoundedCostBound(chain, model, 147);
    expect(bound).toMatchObject({ instancesAtLeast: 1 });
    expect(bound.instanceHoursAtLeast * 3600).toBeCloseTo(300 + BOOT + SHUTDOWN, 9);
  });

  test('initial instances pay no boot, and with min size > 0 no shutdown is counted', () => {
    const four = trace('0,200\n1,200\n2,200\n3,200');
    expect(waitBoundedCostBound(four, { ...model, initialInstances: 3 }, 147).instancesAtLeast).toBe(1);
    const kept = waitBoundedCostBound(four, { ...model, minSize: 1, initialInstances: 1 }, 147);
    expect(kept.instancesAtLeast).toBe(3);
    expect(kept.instanceHoursAtLeast * 3600).toBeCloseTo(800 + 3 * BOOT, 9);
  });
});

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
      { numRuns: 300 },
    );
  });

  test('never above the floor at the floor own p95 wait (up to 40 runs, with chains and max size)', () => {
    const chained = fc
      .array(
        fc.record({ submit: fc.integer({ min: 0, max: 3000 }), duration: fc.integer({ min: 0, max: 600 }), parent: fc.nat() }),
        { minLength: 1, maxLength: 40 },
      )
      .map((rows) =>
        rows.map((row, i) => ({ ...row, after: i > 0 && row.parent % 3 === 0 ? `r${row.parent % i}` : '', submit: row.submit })),
      );
    fc.assert(
      fc.property(chained, fc.integer({ min: 1, max: 20 }), (rows, maxSize) => {
        const csv = rows.map((row, i) => `${row.after === '' ? row.submit : row.submit % 60},${row.duration},r${i},${row.after}`);
        const t = parseTrace(`submit_s,duration_s,id,after\n${csv.join('\n')}`, 'random.csv');
        const m = { ...model, maxSize };
        const floor = offlineFloor(t, m);
        expect(waitBoundedCostBound(t, m, floor.waitP95).instanceHoursAtLeast).toBeLessThanOrEqual(floor.instanceHours + 1e-9);
      }),
      { numRuns: 300 },
    );
  });
});
