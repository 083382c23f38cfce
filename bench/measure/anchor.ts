/**
 * §2: the evidence behind the anchor comparison. Spacelift's autoscaler on the burst with its run durations
 * scaled (how the p95 at its defaults depends on run time), and a fixed 5-minute keep-alive of ours against the
 * lower bound, a zero delay and our defaults on every trace.
 */
import { simulate, type SimResult } from '../sim/engine';
import { oursPolicy } from '../sim/policies/ours';
import { spaceliftV2Policy } from '../sim/policies/spacelift-v2';
import { settingOf, withSetting } from '../sim/sweep';
import type { Trace } from '../sim/trace';
import { LABELS, MODEL, SHIPPED } from '../suite';
import { resultOf } from './comparison';

export const DURATION_FACTORS = [1, 1.25, 1.5, 2];

export interface DurationSensitivity {
  readonly factor: number;
  /** Mean run duration at this factor, seconds. */
  readonly meanDuration: number;
  readonly defaultsP95: number;
  readonly raisedP95: number;
}

export interface KeepAliveRow {
  readonly trace: string;
  /** Instance-hours with `fixed:300`, `fixed:0` and our defaults, and the lower bound. */
  readonly keep: number;
  readonly zero: number;
  readonly defaults: number;
  readonly bound: number;
}

export interface AnchorEvidence {
  /** The burst under Spacelift's autoscaler at its defaults and with its caps raised (from the comparison). */
  readonly defaults: SimResult;
  readonly raised: SimResult;
  readonly meanDuration: number;
  readonly sensitivity: readonly DurationSensitivity[];
  readonly keepAlive: readonly KeepAliveRow[];
}

function scaleDurations(trace: Trace, factor: number): Trace {
  return { name: `${trace.name} x${factor}`, runs: trace.runs.map((run) => ({ ...run, duration: run.duration * factor })) };
}

export async function measureAnchor(burst: Trace, traces: readonly Trace[], results: readonly SimResult[]): Promise<AnchorEvidence> {
  const meanDuration = burst.runs.reduce((s, r) => s + r.duration, 0) / burst.runs.length;
  const sensitivity: DurationSensitivity[] = [];
  for (const factor of DURATION_FACTORS) {
    const scaled = scaleDurations(burst, factor);
    const defaults = await simulate(scaled, spaceliftV2Policy(), MODEL);
    const raised = await simulate(scaled, spaceliftV2Policy({ maxCreate: MODEL.maxSize, maxKill: MODEL.maxSize }), MODEL);
    sensitivity.push({ factor, meanDuration: meanDuration * factor, defaultsP95: defaults.wait.p95, raisedP95: raised.wait.p95 });
  }

  const shipped = settingOf(SHIPPED);
  const keep = oursPolicy(withSetting(SHIPPED, { ...shipped, delay: 'fixed:300', maxTerminatePerTick: 5 }, 'ours fixed:300'));
  const zero = oursPolicy(withSetting(SHIPPED, { ...shipped, delay: 'fixed:0', maxTerminatePerTick: 5 }, 'ours fixed:0'));
  const keepAlive: KeepAliveRow[] = [];
  for (const trace of traces) {
    const k = await simulate(trace, keep, MODEL);
    const z = await simulate(trace, zero, MODEL);
    keepAlive.push({
      trace: trace.name,
      keep: k.instanceHours,
      zero: z.instanceHours,
      defaults: resultOf(results, trace.name, LABELS.oursDefaults).instanceHours,
      bound: k.lowerBoundHours,
    });
  }
  return {
    defaults: resultOf(results, burst.name, LABELS.anchorDefaults),
    raised: resultOf(results, burst.name, LABELS.anchorRaised),
    meanDuration,
    sensitivity,
    keepAlive,
  };
}
