/**
 * What every section of the benchmark (bench/run.ts) shares: the model, the traces, which of them tune the defaults,
 * the shipped defaults and the labels of the compared policies.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_POLL_WHEN } from '../lambda/autoscaler/config';
import { DEFAULT_SCALING_CONFIG } from '../lambda/core/config';
import { DEFAULT_MODEL, type SimModel } from './sim/model';
import type { OursOptions } from './sim/policies/ours';
import { loadTrace, type Trace } from './sim/trace';

export const ROOT = join(__dirname, '..');
const TRACE_DIR = join(__dirname, 'traces');

export const BOOT = 90;
/** The anchor's independent model: boot 90 s, one decision a minute, max 20. */
export const MODEL: SimModel = { ...DEFAULT_MODEL, boot: { kind: 'fixed', value: BOOT }, maxSize: 20 };

/** The traces the defaults are tuned on (§3); every other trace in bench/traces is held out for the goal (§0). */
export const TUNING_TRACES: readonly string[] = ['burst', 'steady', 'busy', 'drift', 'mixed', 'chains', 'night'];

/** Our autoscaler as it ships (lambda/core DEFAULT_SCALING_CONFIG, lambda/autoscaler defaults), invoked every minute. */
export const SHIPPED: OursOptions = Object.freeze({
  scaling: DEFAULT_SCALING_CONFIG,
  pollIntervalSeconds: DEFAULT_POLL_INTERVAL_SECONDS,
  pollWhen: DEFAULT_POLL_WHEN,
  scheduleSeconds: 60,
});

export const LABELS = Object.freeze({
  oursDefaults: 'ours (defaults)',
  oursRecommended: 'ours (recommended)',
  anchorDefaults: 'spacelift-v2 (defaults)',
  anchorRaised: `spacelift-v2 (caps ${MODEL.maxSize})`,
});

/** Every trace in bench/traces: the tuning traces first, in their order, then the held-out ones by name. */
export function loadTraces(): Trace[] {
  const files = readdirSync(TRACE_DIR).filter((f) => f.endsWith('.csv'));
  const traces = files.map((f) => loadTrace(join(TRACE_DIR, f)));
  const rank = (name: string) => (TUNING_TRACES.includes(name) ? TUNING_TRACES.indexOf(name) : TUNING_TRACES.length);
  return traces.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}
