/** The benchmark suite: reproducible from its seeds, big enough not to be overfit, small enough to simulate quickly. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTrace, loadTrace } from '../../bench/sim/trace';
import { generateTrace, summarize, TRACES } from '../../bench/traces/generate';

const DIR = join(__dirname, '../../bench/traces');

describe('benchmark traces', () => {
  test('at least 20 traces, unique names and seeds, one CSV each and no stray CSV', () => {
    expect(TRACES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(TRACES.map((t) => t.name)).size).toBe(TRACES.length);
    expect(new Set(TRACES.map((t) => t.seed)).size).toBe(TRACES.length);
    const files = readdirSync(DIR).filter((f) => f.endsWith('.csv')).sort();
    expect(files).toEqual(TRACES.map((t) => `${t.name}.csv`).sort());
  });

  test.each(TRACES.map((spec) => [spec.name, spec] as const))('%s.csv is what its seed generates (nothing edited by hand)', (name, spec) => {
    const runs = generateTrace(spec);
    const committed = readFileSync(join(DIR, `${name}.csv`), 'utf8');
    // The header comment is the description; the rest must match byte for byte.
    expect(committed.split('\n').filter((l) => !l.startsWith('#'))).toEqual(formatTrace(runs).split('\n'));
    expect(loadTrace(join(DIR, `${name}.csv`)).runs).toHaveLength(runs.length);
  });

  test.each(TRACES.map((spec) => [spec.name, spec] as const))('%s fits the suite budget: at most 10 hours and 500 runs', (_name, spec) => {
    const { runs, hours } = summarize(spec);
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThanOrEqual(500);
    expect(hours).toBeLessThanOrEqual(10);
  });

  test('every trace is documented in the README with its run count and seed', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const spec of TRACES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${spec.name}.csv\``));
      expect(row).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells).toContain(String(summarize(spec).runs));
      expect(cells).toContain(String(spec.seed));
    }
  });
});
