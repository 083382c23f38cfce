/**
 * Writes the benchmark traces in this directory from fixed seeds, so they are reproducible:
 *
 *   npx ts-node --transpile-only bench/traces/generate.ts [outDir]
 *
 * and prints the README's table of traces. Each trace is described in README.md next to this file.
 * Durations are log-normal (run times are right-skewed: most plans are quick, a few take much longer),
 * clamped to sensible bounds, except one Pareto family for a heavier tail.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../sim/rng';
import { formatTrace } from '../sim/trace';

export interface GeneratedRun {
  /** Seconds from trace start; for a chained run, seconds after its parent ends. */
  readonly submit: number;
  readonly duration: number;
  readonly kind: string;
  readonly id?: string;
  readonly after?: string;
}

export interface TraceSpec {
  readonly name: string;
  readonly seed: number;
  readonly description: string;
  /** What the trace tests, for the README table. */
  readonly why: string;
  readonly generate: (rng: Rng) => GeneratedRun[];
}

const MINUTE = 60;
const HOUR = 3600;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** A proposed run (plan only): median 2.5 min. */
function plan(rng: Rng): number {
  return clamp(rng.logNormal(2.5 * MINUTE, 0.45), 45, 15 * MINUTE);
}

/** A tracked run (plan, confirm, apply): median 6 min. */
function tracked(rng: Rng): number {
  return clamp(rng.logNormal(6 * MINUTE, 0.4), 2 * MINUTE, 25 * MINUTE);
}

/** A long apply (databases, clusters): median 25 min, capped at Spacelift's 70-minute run timeout. */
function longApply(rng: Rng): number {
  return clamp(rng.logNormal(25 * MINUTE, 0.5), 8 * MINUTE, 70 * MINUTE);
}

/** Poisson arrivals with the given mean gap in [start, end). */
function poisson(rng: Rng, start: number, end: number, meanGap: number, duration: (rng: Rng) => [number, string]): GeneratedRun[] {
  const runs: GeneratedRun[] = [];
  for (let t = start + rng.exponential(meanGap); t < end; t += rng.exponential(meanGap)) {
    const [d, kind] = duration(rng);
    runs.push({ submit: t, duration: d, kind });
  }
  return runs;
}

/** Heavy-tailed run time: log-normal with a wide spread, capped at Spacelift's 70-minute run timeout. */
function heavyTailed(rng: Rng): number {
  return clamp(rng.logNormal(8 * MINUTE, 1.1), MINUTE, 70 * MINUTE);
}

/** Pareto run time (shape `alpha`, minimum `xm`), capped at Spacelift's 70-minute run timeout. */
function pareto(rng: Rng, xm: number, alpha: number): number {
  return Math.min(70 * MINUTE, xm / (1 - rng.next()) ** (1 / alpha));
}

/** A plan or a tracked run, `planShare` of them plans. */
function planOrTracked(planShare: number): (rng: Rng) => [number, string] {
  return (r) => (r.chance(planShare) ? [plan(r), 'plan'] : [tracked(r), 'tracked']);
}

/**
 * Poisson arrivals with a rate that varies over time (runs an hour at each hour of the trace, linear in
 * between), by thinning: candidates at the peak rate, each kept with probability rate / peak.
 */
function varyingPoisson(rng: Rng, start: number, ratePerHour: readonly number[], duration: (rng: Rng) => [number, string]): GeneratedRun[] {
  const peak = Math.max(...ratePerHour);
  const hours = ratePerHour.length - 1;
  const runs: GeneratedRun[] = [];
  for (let t = start + rng.exponential(HOUR / peak); t < start + hours * HOUR; t += rng.exponential(HOUR / peak)) {
    const x = (t - start) / HOUR;
    const i = Math.floor(x);
    const rate = ratePerHour[i] + (ratePerHour[i + 1] - ratePerHour[i]) * (x - i);
    if (!rng.chance(rate / peak)) continue;
    const [d, kind] = duration(rng);
    runs.push({ submit: t, duration: d, kind });
  }
  return runs;
}

/** `count` runs submitted uniformly within `window` seconds of `at`. */
function burst(rng: Rng, at: number, count: number, window: number, duration: (rng: Rng) => [number, string]): GeneratedRun[] {
  return Array.from({ length: count }, () => {
    const submit = at + rng.uniform(0, window);
    const [d, kind] = duration(rng);
    return { submit, duration: d, kind };
  });
}

/**
 * Dependency trees: a root run at each of `roots`' submit times whose end triggers `children(rng)` dependants
 * (each queued 5-15 s after its parent ends), recursively to `depth` levels.
 */
function dependencyTrees(
  rng: Rng,
  roots: readonly GeneratedRun[],
  prefix: string,
  children: (rng: Rng, level: number) => number,
  depth: number,
): GeneratedRun[] {
  const runs: GeneratedRun[] = [];
  roots.forEach((root, index) => {
    const rootId = `${prefix}${index + 1}`;
    runs.push({ ...root, id: rootId });
    const grow = (parent: string, level: number) => {
      if (level > depth) return;
      const count = children(rng, level);
      for (let child = 1; child <= count; child++) {
        const id = `${parent}.${child}`;
        runs.push({ submit: rng.uniform(5, 15), duration: tracked(rng), kind: 'dependant', id, after: parent });
        grow(id, level + 1);
      }
    };
    grow(rootId, 1);
  });
  return runs;
}

/** A business day from 08:00 (rate per hour at each full hour): morning ramp, lunch dip, evening tail. */
const BUSINESS_DAY = [2, 12, 24, 30, 26, 10, 22, 26, 20, 8, 2] as const;

export const TRACES: readonly TraceSpec[] = [
  {
    name: 'steady',
    seed: 101,
    description: 'Steady Poisson traffic for 8 hours: one run every 4 minutes on average, 70% plans and 30% tracked runs.',
    why: 'The common case: about one worker busy; keep-alive versus re-boot',
    generate: (rng) => poisson(rng, 0, 8 * HOUR, 4 * MINUTE, (r) => (r.chance(0.7) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
  {
    name: 'busy',
    seed: 111,
    description: 'A busy pool for 6 hours: Poisson arrivals, one run a minute on average, 80% plans and 20% tracked runs.',
    why: 'Several workers busy all the time; where an arrival-rate-aware keep-alive pays off',
    generate: (rng) => poisson(rng, 0, 6 * HOUR, MINUTE, (r) => (r.chance(0.8) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
  {
    name: 'burst',
    seed: 202,
    description: 'Morning burst: 20 tracked runs submitted within 60 seconds into an empty pool, then nothing.',
    why: "Scale-out speed from zero: Spacelift's count-mismatch freeze adds one worker per boot cycle at its defaults",
    generate: (rng) =>
      Array.from({ length: 20 }, () => ({ submit: rng.uniform(0, 60), duration: tracked(rng), kind: 'tracked' })),
  },
  {
    name: 'drift',
    seed: 303,
    description:
      'Drift detection: at the top of each of 8 hours, 15 plans within 30 seconds (scheduled drift checks), ' +
      'over a background of 3 runs an hour.',
    why: 'Spiky traffic: the cost of keeping idle workers after each spike, and scale-in speed',
    generate: (rng) => {
      const runs: GeneratedRun[] = [];
      for (let hour = 0; hour < 8; hour++) {
        for (let i = 0; i < 15; i++) runs.push({ submit: hour * HOUR + rng.uniform(0, 30), duration: plan(rng), kind: 'drift' });
      }
      runs.push(...poisson(rng, 0, 8 * HOUR, 20 * MINUTE, (r) => (r.chance(0.5) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])));
      return runs;
    },
  },
  {
    name: 'mixed',
    seed: 404,
    description: 'Long applies mixed with short plans for 6 hours: 12 runs an hour, 80% plans and 20% long applies (median 25 min).',
    why: 'Long-running workers next to short ones: scale-in must pick only the idle ones',
    generate: (rng) => poisson(rng, 0, 6 * HOUR, 5 * MINUTE, (r) => (r.chance(0.8) ? [plan(r), 'plan'] : [longApply(r), 'apply'])),
  },
  {
    name: 'chains',
    seed: 606,
    description:
      'Stack dependency chains for 8 hours: every 15 minutes on average a tracked run on a root stack, whose end triggers ' +
      '1-4 dependent stacks one after another (each queued 5-15 s after the previous run ends).',
    why: "Whether a worker survives the gap between a run and its dependant (the scale-down delay's floor)",
    generate: (rng) => {
      const runs: GeneratedRun[] = [];
      let chain = 0;
      for (const root of poisson(rng, 0, 8 * HOUR, 15 * MINUTE, (r) => [tracked(r), 'root'])) {
        chain++;
        let parent = `c${chain}-0`;
        runs.push({ ...root, id: parent });
        const links = rng.int(1, 4);
        for (let link = 1; link <= links; link++) {
          const id = `c${chain}-${link}`;
          runs.push({ submit: rng.uniform(5, 15), duration: tracked(rng), kind: 'dependant', id, after: parent });
          parent = id;
        }
      }
      return runs;
    },
  },
  {
    name: 'night',
    seed: 505,
    description: 'A quiet night: 10 hours with one run every 90 minutes on average (plans and tracked runs).',
    why: 'Nearly idle: every run pays a boot; nothing should stay up',
    generate: (rng) => poisson(rng, 0, 10 * HOUR, 90 * MINUTE, (r) => (r.chance(0.5) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
  // Generated families added for issue 13: several sizes and shapes of each, so that no setting can be tuned to one trace.
  {
    name: 'burst-5',
    seed: 211,
    description: 'A small burst: 5 tracked runs within 30 seconds into an empty pool, then nothing.',
    why: 'A burst well under the pool size: is the whole burst launched at once, and released promptly after?',
    generate: (rng) => burst(rng, 0, 5, 30, (r) => [tracked(r), 'tracked']),
  },
  {
    name: 'burst-12',
    seed: 212,
    description: 'A medium burst: 12 runs (half plans, half tracked) within 60 seconds into an empty pool, then nothing.',
    why: 'A burst of mixed run lengths: scale-in while the long runs of the burst are still busy',
    generate: (rng) => burst(rng, 0, 12, 60, planOrTracked(0.5)),
  },
  {
    name: 'burst-40',
    seed: 213,
    description: 'A large burst: 40 tracked runs within 2 minutes into an empty pool (twice the benchmark\'s max size of 20), then nothing.',
    why: 'Queueing at max size: the second half of the burst waits for workers to free up, and must not get fresh instances',
    generate: (rng) => burst(rng, 0, 40, 120, (r) => [tracked(r), 'tracked']),
  },
  {
    name: 'bursts-repeated',
    seed: 214,
    description: 'Release days: a burst of 12 tracked runs within 90 seconds every 2 hours for 8 hours (5 bursts), nothing in between.',
    why: 'Repeated bursts separated by long gaps: nothing learnt from one burst should keep instances up until the next',
    generate: (rng) => [0, 2, 4, 6, 8].flatMap((hour) => burst(rng, hour * HOUR, 12, 90, (r) => [tracked(r), 'tracked'])),
  },
  {
    name: 'business-day',
    seed: 701,
    description:
      'A business day from 08:00 to 18:00: Poisson arrivals whose rate ramps from 2 to 30 runs an hour by 11:00, dips to 10 at ' +
      'lunch, climbs back to 26 and tails off to 2 by 18:00 (70% plans, 30% tracked).',
    why: 'Diurnal load: scale-out on the morning ramp, holding capacity through the lunch dip, scale-in on the evening tail',
    generate: (rng) => varyingPoisson(rng, 0, BUSINESS_DAY, planOrTracked(0.7)),
  },
  {
    name: 'business-day-light',
    seed: 702,
    description: 'A small team\'s business day: the business-day shape at a quarter of the rate (peak 7.5 runs an hour), 60% plans, 40% tracked.',
    why: 'The same shape with one or two workers busy: keep-alive versus re-boot under a slowly varying rate',
    generate: (rng) => varyingPoisson(rng, 0, BUSINESS_DAY.map((rate) => rate / 4), planOrTracked(0.6)),
  },
  {
    name: 'drift-storm',
    seed: 801,
    description:
      'Drift-detection storm: 30 plans within 60 seconds every 30 minutes for 6 hours (12 storms), over a background of ' +
      '4 runs an hour.',
    why: 'Storms larger than the pool every half hour: queueing at max size, then whether idle workers should wait 30 minutes for the next storm',
    generate: (rng) => {
      const runs: GeneratedRun[] = [];
      for (let storm = 0; storm < 12; storm++) runs.push(...burst(rng, storm * 30 * MINUTE, 30, 60, (r) => [plan(r), 'drift']));
      runs.push(...poisson(rng, 0, 6 * HOUR, 15 * MINUTE, planOrTracked(0.5)));
      return runs;
    },
  },
  {
    name: 'drift-hourly',
    seed: 802,
    description: 'Hourly drift detection on a small estate: 8 plans spread over 5 minutes at a quarter past each of 10 hours, nothing else.',
    why: 'Small periodic spikes with an hour of nothing between: every spike should cost about one boot, not an hour of idle workers',
    generate: (rng) => Array.from({ length: 10 }, (_, hour) => burst(rng, hour * HOUR + 15 * MINUTE, 8, 5 * MINUTE, (r) => [plan(r), 'drift'])).flat(),
  },
  {
    name: 'long-tail',
    seed: 901,
    description:
      'Heavy-tailed run times for 8 hours: 6 runs an hour, log-normal durations with median 8 minutes and sigma 1.1 ' +
      '(1 to 70 minutes; one run in ten takes over 30 minutes).',
    why: 'Long applies next to quick runs: estimates of remaining run time are often wrong, and scale-in must never touch the long ones',
    generate: (rng) => poisson(rng, 0, 8 * HOUR, 10 * MINUTE, (r) => [heavyTailed(r), 'run']),
  },
  {
    name: 'pareto',
    seed: 902,
    description: 'Pareto run times for 6 hours: 10 runs an hour, durations from 2 minutes with shape 1.1 (capped at 70 minutes).',
    why: 'A tail heavier than log-normal: most runs are short, a few hold a worker for an hour',
    generate: (rng) => poisson(rng, 0, 6 * HOUR, 6 * MINUTE, (r) => [pareto(r, 2 * MINUTE, 1.1), 'run']),
  },
  {
    name: 'chains-deep',
    seed: 611,
    description:
      'Deep dependency chains for 8 hours: a root stack every 20 minutes on average, whose end triggers a chain of up to 8 ' +
      'dependent stacks one after another (each link continues with probability 0.9; each queued 5-15 s after the previous run ends).',
    why: 'Long sequential chains: one run at a time for half an hour or more, each needing the worker its parent just freed',
    generate: (rng) =>
      dependencyTrees(rng, poisson(rng, 0, 8 * HOUR, 20 * MINUTE, (r) => [tracked(r), 'root']), 'd', (r) => (r.chance(0.9) ? 1 : 0), 8),
  },
  {
    name: 'chains-fanout',
    seed: 612,
    description:
      'Dependency fan-out for 8 hours: a root stack every 30 minutes on average, whose end triggers 3-6 dependent stacks at once, ' +
      'each of which triggers 0-2 more (each queued 5-15 s after its parent ends).',
    why: 'A tree of dependants: a burst that arrives when a run ends, so the policy cannot see it coming from the queue',
    generate: (rng) =>
      dependencyTrees(rng, poisson(rng, 0, 8 * HOUR, 30 * MINUTE, (r) => [tracked(r), 'root']), 'f', (r, level) => (level === 1 ? r.int(3, 6) : r.int(0, 2)), 2),
  },
  {
    name: 'night-sparse',
    seed: 511,
    description: 'A very quiet night: 3 runs at random times over 10 hours (plans and tracked runs).',
    why: 'Almost nothing: the whole cost is boots and idle tails, so any keep-alive shows up at once',
    generate: (rng) => burst(rng, 0, 3, 10 * HOUR, planOrTracked(0.5)),
  },
  {
    name: 'weekend',
    seed: 512,
    description: 'A weekend day: scheduled drift checks of 5 plans at 2 h and 8 h (within a minute), and 2 ad-hoc tracked runs at random times over 10 hours.',
    why: 'Rare small spikes and lone runs: scale from zero and back to zero each time',
    generate: (rng) => [
      ...burst(rng, 2 * HOUR, 5, 60, (r) => [plan(r), 'drift']),
      ...burst(rng, 8 * HOUR, 5, 60, (r) => [plan(r), 'drift']),
      ...burst(rng, 0, 2, 10 * HOUR, (r) => [tracked(r), 'tracked']),
    ],
  },
  {
    name: 'mix',
    seed: 1001,
    description:
      'Everything at once over a 10-hour business day: the business-day shape at 60% (65% plans, 25% tracked, 10% long applies), ' +
      'a release burst of 25 tracked runs at 1.5 h, drift storms of 20 plans every 2 hours, and 3 dependency fan-outs.',
    why: 'Overlaid patterns: a setting that wins on each family alone must also win when they meet',
    generate: (rng) => {
      const day = varyingPoisson(rng, 0, BUSINESS_DAY.map((rate) => rate * 0.6), (r) => {
        const u = r.next();
        return u < 0.65 ? [plan(r), 'plan'] : u < 0.9 ? [tracked(r), 'tracked'] : [longApply(r), 'apply'];
      });
      const release = burst(rng, 1.5 * HOUR, 25, 120, (r) => [tracked(r), 'tracked']);
      const storms = [0, 2, 4, 6, 8].flatMap((hour) => burst(rng, hour * HOUR, 20, 60, (r) => [plan(r), 'drift']));
      const roots = [2.5, 5, 7.5].map((hour) => ({ submit: hour * HOUR, duration: tracked(rng), kind: 'root' }));
      const trees = dependencyTrees(rng, roots, 'm', (r, level) => (level === 1 ? r.int(3, 5) : 0), 1);
      return [...day, ...release, ...storms, ...trees];
    },
  },
  {
    name: 'mix-small',
    seed: 1002,
    description:
      'A small team\'s day over 10 hours: the business-day shape at a sixth of the rate, a burst of 6 tracked runs at 3 h, ' +
      'hourly drift checks of 4 plans, and 2 long applies.',
    why: 'Overlaid patterns at one or two workers, where a single idle instance kept too long is a large share of the bill',
    generate: (rng) => [
      ...varyingPoisson(rng, 0, BUSINESS_DAY.map((rate) => rate / 6), planOrTracked(0.6)),
      ...burst(rng, 3 * HOUR, 6, 60, (r) => [tracked(r), 'tracked']),
      ...Array.from({ length: 10 }, (_, hour) => burst(rng, hour * HOUR, 4, 60, (r) => [plan(r), 'drift'])).flat(),
      ...burst(rng, 0, 2, 9 * HOUR, (r) => [longApply(r), 'apply']),
    ],
  },
];

/**
 * The runs of a spec, times rounded to 0.1 s as written to the CSV, sorted by submit time; in a trace with
 * chains, each dependant stays right after its root's group (its submit time counts from its parent's end).
 */
export function generateTrace(spec: TraceSpec): GeneratedRun[] {
  const round = (value: number) => Math.round(value * 10) / 10;
  const runs = spec.generate(new Rng(spec.seed)).map((run) => ({ ...run, submit: round(run.submit), duration: round(run.duration) }));
  const rootSubmit = new Map<string, number>();
  const groupTime = runs.map((run) => {
    const time = run.after === undefined ? run.submit : rootSubmit.get(run.after)!;
    if (run.id !== undefined) rootSubmit.set(run.id, time);
    return time;
  });
  // A stable sort on the group's time: unchained runs by submit time, chains keep generation order within a group.
  return runs.map((run, index) => ({ run, time: groupTime[index] })).sort((a, b) => a.time - b.time).map(({ run }) => run);
}

/** Runs and time span of a generated trace (chained runs counted at their earliest start), for the README. */
export function summarize(spec: TraceSpec): { runs: number; hours: number } {
  const runs = generateTrace(spec);
  const end = new Map<string, number>();
  let last = 0;
  for (const run of runs) {
    const start = run.after === undefined ? run.submit : end.get(run.after)! + run.submit;
    if (run.id !== undefined) end.set(run.id, start + run.duration);
    last = Math.max(last, start + run.duration);
  }
  return { runs: runs.length, hours: last / HOUR };
}

export function writeTraces(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return TRACES.map((spec) => {
    const path = join(outDir, `${spec.name}.csv`);
    const comment = `${spec.description}\nGenerated by bench/traces/generate.ts (seed ${spec.seed}); do not edit by hand.`;
    writeFileSync(path, formatTrace(generateTrace(spec), comment));
    return path;
  });
}

if (require.main === module) {
  const outDir = process.argv[2] ?? __dirname;
  for (const path of writeTraces(outDir)) console.log(`wrote ${path}`);
  console.log('\n| file | what | runs | hours | seed | why it is here |\n| --- | --- | ---: | ---: | ---: | --- |');
  for (const spec of TRACES) {
    const { runs, hours } = summarize(spec);
    console.log(`| \`${spec.name}.csv\` | ${spec.description} | ${runs} | ${hours.toFixed(1)} | ${spec.seed} | ${spec.why} |`);
  }
}
