/** §6: the fault-mode property test (test/sim/invariants.property.test.ts) at many scenarios. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../suite';

export const PROPERTY_RUNS = 10_000;
export const PROPERTY_TEST = 'test/sim/invariants.property.test.ts';

export interface PropertyOutcome {
  readonly runs: number;
  readonly passed: boolean;
  readonly seconds: number;
  /** jest's lines naming each test and the totals, and for a failure fast-check's seed and counterexample. */
  readonly summary: readonly string[];
}

export function runPropertyTest(runs: number, log: (message: string) => void): PropertyOutcome {
  log(`property test: ${runs} scenarios per property`);
  const started = Date.now();
  const out = spawnSync(join(ROOT, 'node_modules', '.bin', 'jest'), [PROPERTY_TEST, '--selectProjects', 'unit', '--silent'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, SIM_PROPERTY_RUNS: String(runs) },
  });
  return {
    runs,
    passed: out.status === 0,
    seconds: (Date.now() - started) / 1000,
    // A failed property prints how to replay it: keep that, so the report says which scenario broke it.
    summary: `${out.stdout}\n${out.stderr}`.split('\n')
      .filter((l) => /Tests:|✓|✕|√|×|Property failed after|\{ seed:|Counterexample:|Expected|Received/.test(l))
      .map((l) => l.trim()),
  };
}
