/** Text tables and JSON for simulation results. */
import { callsPerHour } from './call-rate';
import type { SimResult } from './engine';

export interface Column<T> {
  readonly title: string;
  readonly value: (row: T) => string;
  /** Right-aligned (numbers) unless false. */
  readonly right?: boolean;
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(column.title.length, ...cells.map((row) => row[i].length)));
  const pad = (text: string, i: number) => (columns[i].right === false ? text.padEnd(widths[i]) : text.padStart(widths[i]));
  const line = (row: readonly string[]) => row.map(pad).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** A Markdown table with the same columns. */
export function markdownTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const header = `| ${columns.map((c) => c.title).join(' | ')} |`;
  const rule = `| ${columns.map((c) => (c.right === false ? '---' : '---:')).join(' | ')} |`;
  return [header, rule, ...rows.map((row) => `| ${columns.map((c) => c.value(row)).join(' | ')} |`)].join('\n');
}

export const fmtSeconds = (seconds: number): string => `${Math.round(seconds)}`;
export const fmtHours = (hours: number): string => hours.toFixed(2);
/** `a / b` as `1.23x`; `n/a` when b is 0. */
export const fmtRatio = (a: number, b: number): string => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);
export const fmtPercent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;

/**
 * One row per simulation, shared by the CLI and BENCHMARKS.md. *inst-h*: running instance-hours; *lambda-h*: the
 * autoscaler's own Lambda bill in instance-hours (prices.ts); *total-h*: the whole bill (`totalCostHours`: instance-hours
 * with stopped warm-pool hours at their ratio, plus lambda-h); *bound-h*: the lower bound (`lowerBoundHours`).
 */
export const RESULT_COLUMNS: readonly Column<SimResult>[] = [
  { title: 'trace', value: (r) => r.trace, right: false },
  { title: 'policy', value: (r) => r.policy, right: false },
  { title: 'wait p50 s', value: (r) => fmtSeconds(r.wait.p50) },
  { title: 'p95 s', value: (r) => fmtSeconds(r.wait.p95) },
  { title: 'max s', value: (r) => fmtSeconds(r.wait.max) },
  { title: 'mean s', value: (r) => fmtSeconds(r.wait.mean) },
  { title: 'inst-h', value: (r) => fmtHours(r.instanceHours) },
  { title: 'lambda-h', value: (r) => fmtHours(r.lambdaHours) },
  { title: 'total-h', value: (r) => fmtHours(r.totalCostHours) },
  { title: 'idle-h', value: (r) => fmtHours(r.idleHours) },
  { title: 'bound-h', value: (r) => fmtHours(r.lowerBoundHours) },
  { title: 'launches', value: (r) => String(r.launches) },
  { title: 'scale-outs', value: (r) => String(r.scaleOuts) },
  { title: 'scale-ins', value: (r) => String(r.scaleIns) },
  { title: 'busy killed', value: (r) => String(r.busyTerminated) },
  { title: 'calls/h', value: (r) => callsPerHour(r).toFixed(0) },
];

/** Notes for results that need a caveat (unstarted runs, killed runs, not settled). */
export function resultNotes(results: readonly SimResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const flags: string[] = [];
    if (r.unstarted > 0) flags.push(`${r.unstarted} runs never started`);
    if (r.runsKilled > 0) flags.push(`${r.runsKilled} runs killed mid-run`);
    if (!r.settled) flags.push('did not return to min size');
    if (r.invocations.timeouts > 0) flags.push(`${r.invocations.timeouts} invocations timed out`);
    const rejected = Object.values(r.world.validationErrors).reduce((a, b) => a + b, 0);
    if (rejected > 0) flags.push(`${rejected} calls refused by AWS`);
    if (flags.length > 0) notes.push(`${r.trace} / ${r.policy}: ${flags.join(', ')}`);
  }
  return notes;
}

export function formatResults(results: readonly SimResult[]): string {
  const settings = [...new Map(results.map((r) => [r.policy, r.settings])).entries()]
    .map(([policy, s]) => `  ${policy}: ${s}`);
  const notes = resultNotes(results);
  return [
    table(results, RESULT_COLUMNS),
    '',
    'policies:',
    ...settings,
    ...(notes.length > 0 ? ['', 'notes:', ...notes.map((n) => `  ${n}`)] : []),
  ].join('\n');
}

/** JSON-ready copy of a result; the timeline only when asked for. */
export function resultJson(result: SimResult, withTimeline = false): Record<string, unknown> {
  const { timeline, world, ...rest } = result;
  return {
    ...rest,
    callsByOp: world.callsByOp,
    failedCalls: world.failedCalls,
    validationErrors: world.validationErrors,
    deaths: world.deaths,
    bootFailures: world.bootFailures,
    warmLaunches: world.warmLaunches,
    ...(withTimeline ? { timeline } : {}),
  };
}
