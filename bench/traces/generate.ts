/**
 * Writes the benchmark traces in this directory from fixed seeds, so they are reproducible:
 *
 *   npx ts-node --transpile-only bench/traces/generate.ts [outDir]
 *
 * Each trace is described in README.md next to this file. Durations are log-normal (run times are
 * right-skewed: most plans are quick, a few take much longer), clamped to sensible bounds.
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

export const TRACES: readonly TraceSpec[] = [
  {
    name: 'steady',
    seed: 101,
    description: 'Steady Poisson traffic for 8 hours: one run every 4 minutes on average, 70% plans and 30% tracked runs.',
    generate: (rng) => poisson(rng, 0, 8 * HOUR, 4 * MINUTE, (r) => (r.chance(0.7) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
  {
    name: 'busy',
    seed: 111,
    description: 'A busy pool for 6 hours: Poisson arrivals, one run a minute on average, 80% plans and 20% tracked runs.',
    generate: (rng) => poisson(rng, 0, 6 * HOUR, MINUTE, (r) => (r.chance(0.8) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
  {
    name: 'burst',
    seed: 202,
    description: 'Morning burst: 20 tracked runs submitted within 60 seconds into an empty pool, then nothing.',
    generate: (rng) =>
      Array.from({ length: 20 }, () => ({ submit: rng.uniform(0, 60), duration: tracked(rng), kind: 'tracked' })),
  },
  {
    name: 'drift',
    seed: 303,
    description:
      'Drift detection: at the top of each of 8 hours, 15 plans within 30 seconds (scheduled drift checks), ' +
      'over a background of 3 runs an hour.',
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
    generate: (rng) => poisson(rng, 0, 6 * HOUR, 5 * MINUTE, (r) => (r.chance(0.8) ? [plan(r), 'plan'] : [longApply(r), 'apply'])),
  },
  {
    name: 'chains',
    seed: 606,
    description:
      'Stack dependency chains for 8 hours: every 15 minutes on average a tracked run on a root stack, whose end triggers ' +
      '1-4 dependent stacks one after another (each queued 5-15 s after the previous run ends).',
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
    generate: (rng) => poisson(rng, 0, 10 * HOUR, 90 * MINUTE, (r) => (r.chance(0.5) ? [plan(r), 'plan'] : [tracked(r), 'tracked'])),
  },
];

/** The runs of a spec, times rounded to 0.1 s as written to the CSV; unchained traces sorted by submit time. */
export function generateTrace(spec: TraceSpec): GeneratedRun[] {
  const round = (value: number) => Math.round(value * 10) / 10;
  const runs = spec.generate(new Rng(spec.seed)).map((run) => ({ ...run, submit: round(run.submit), duration: round(run.duration) }));
  // Chained runs must follow their parents, so chains keep generation order.
  return runs.some((run) => run.after !== undefined) ? runs : runs.sort((a, b) => a.submit - b.submit);
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
}
