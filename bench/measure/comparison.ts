/** §1: every trace under each compared policy, simulated once. */
import { simulate, type SimResult } from '../sim/engine';
import type { Policy } from '../sim/policy';
import type { Trace } from '../sim/trace';
import { MODEL } from '../suite';

/** The result of `policy` (a label) on `trace`; throws when it was not simulated. */
export function resultOf(results: readonly SimResult[], trace: string, policy: string): SimResult {
  const result = results.find((r) => r.trace === trace && r.policy === policy);
  if (result === undefined) throw new Error(`no result for ${policy} on ${trace}`);
  return result;
}

/**
 * Every trace under every policy, trace by trace in the policies' order; a pair already in `earlier` is reused,
 * not simulated again.
 */
export async function compare(traces: readonly Trace[], policies: readonly Policy[], earlier: readonly SimResult[] = []): Promise<SimResult[]> {
  const results: SimResult[] = [];
  for (const trace of traces) {
    for (const policy of policies) {
      const known = earlier.find((r) => r.trace === trace.name && r.policy === policy.label);
      results.push(known ?? (await simulate(trace, policy, MODEL)));
    }
  }
  return results;
}
