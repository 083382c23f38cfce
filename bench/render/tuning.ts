/** §3: the sweeps ranked by the goal, and the recommended defaults. */
import type { Scored, Tuning } from '../measure/tuning';
import type { SimResult } from '../sim/engine';
import { type GoalReference, type TraceOutcome, dominates } from '../sim/goal-ranking';
import { type Column, fmtHours, fmtPercent, fmtSeconds, markdownTable } from '../sim/report';
import { label, sameSetting, settingOf, type SweepSetting } from '../sim/sweep';
import { LABELS, SHIPPED } from '../suite';

const shipped = settingOf(SHIPPED);

/** The setting as `ours:` overrides, marked when it is the shipped defaults. */
function settingCell(setting: SweepSetting): string {
  return `\`${label(setting)}\`${sameSetting(setting, shipped) ? ' (defaults)' : ''}`;
}

/** Columns of a ranked list; `traces` is how many traces each count is out of. */
export function scoreColumns(traces: number): Column<Scored>[] {
  return [
    { title: 'dominates', value: (s) => `${s.dominates}/${traces}` },
    { title: 'waits met', value: (s) => `${s.waitsMet}/${traces}` },
    { title: 'inst-h / floor', value: (s) => `${s.floorRatio.toFixed(3)}x` },
    { title: 'total h', value: (s) => fmtHours(s.totalCost) },
    { title: 'mean wait s', value: (s) => s.point.wait.toFixed(1) },
    { title: 'p95 wait s', value: (s) => fmtSeconds(s.point.waitP95) },
    { title: 'API calls/h', value: (s) => s.callsPerHour.toFixed(0) },
  ];
}

interface TraceRow {
  readonly reference: GoalReference;
  readonly scored: Scored;
  readonly outcome: TraceOutcome;
}

const TRACE_COLUMNS: readonly Column<TraceRow>[] = [
  { title: 'trace', value: (r) => r.reference.trace, right: false },
  { title: 'setting', value: (r) => settingCell(r.scored.point), right: false },
  { title: 'total h', value: (r) => fmtHours(r.outcome.totalCostHours) },
  { title: 'anchor defaults total h', value: (r) => fmtHours(r.reference.anchorCost) },
  { title: 'p95 / mean s', value: (r) => `${fmtSeconds(r.outcome.p95)} / ${fmtSeconds(r.outcome.mean)}` },
  { title: 'anchor raised p95 / mean s', value: (r) => `${fmtSeconds(r.reference.anchorP95)} / ${fmtSeconds(r.reference.anchorMean)}` },
  { title: 'dominates', value: (r) => (dominates(r.outcome, r.reference) ? 'yes' : '**no**'), right: false },
  { title: 'inst-h / floor', value: (r) => `${(r.reference.floorHours === 0 ? 1 : r.outcome.instanceHours / r.reference.floorHours).toFixed(2)}x` },
  { title: 'API calls/h', value: (r) => r.outcome.callsPerHour.toFixed(0) },
];

function gridLine(tuning: Tuning): string {
  const g = tuning.grid;
  const list = (values: readonly (string | number)[] | undefined) => (values ?? []).join(', ');
  return `Grid: scaleDownDelay {${list(g.delays)}}, busyFinishingWithinSeconds (*soon*) {${list(g.soon)}}, ` +
    `POLL_WHEN {${list(g.pollWhen)}}, POLL_INTERVAL_SECONDS {${list(g.pollIntervals)}}, maxTerminatePerTick {${list(g.maxTerminate)}}` +
    `, and the shipped defaults: ${tuning.ranked.length} settings.`;
}

/** One sentence comparing two policies' totals over all traces. */
function totalsLine(results: readonly SimResult[], from: string, to: string): string {
  const sum = (policy: string, f: (r: SimResult) => number) => results.filter((r) => r.policy === policy).reduce((s, r) => s + f(r), 0);
  const count = results.filter((r) => r.policy === from).length;
  const change = (a: number, b: number) => `${a.toFixed(2)} -> ${b.toFixed(2)} (${fmtPercent(b / a - 1)})`;
  return `Over all traces, *${to}* against *${from}*: mean wait ${(sum(from, (r) => r.wait.mean) / count).toFixed(1)} s -> ` +
    `${(sum(to, (r) => r.wait.mean) / count).toFixed(1)} s, total cost ${change(sum(from, (r) => r.totalCostHours), sum(to, (r) => r.totalCostHours))} ` +
    `instance-hours, queue-hours ${sum(from, (r) => r.waitHours).toFixed(2)} -> ${sum(to, (r) => r.waitHours).toFixed(2)}.`;
}

function recommendation(tuning: Tuning, results: readonly SimResult[]): string[] {
  const r = tuning.recommended.point;
  const item = (name: string, value: string | number, now: string | number) =>
    `- \`${name}\`: \`${value}\`${String(value) === String(now) ? ' (the default)' : ` (now \`${now}\`)`}`;
  return [
    '### Recommended defaults',
    '',
    `The top of the ranking over both sweeps: \`${label(r)}\`.`,
    '',
    item('scaleDownDelay', r.delay, shipped.delay),
    item('busyFinishingWithinSeconds', r.soon, shipped.soon),
    item('POLL_WHEN', r.pollWhen, shipped.pollWhen),
    item('POLL_INTERVAL_SECONDS', r.pollIntervalSeconds, shipped.pollIntervalSeconds),
    item('maxTerminatePerTick', r.maxTerminatePerTick, shipped.maxTerminatePerTick),
    '',
    tuning.recommendedIsDefault
      ? 'The shipped defaults (lambda/core `DEFAULT_SCALING_CONFIG`, lambda/autoscaler `DEFAULT_POLL_WHEN` and ' +
        '`DEFAULT_POLL_INTERVAL_SECONDS`) are this recommendation.'
      : `The shipped defaults rank ${tuning.ranked.findIndex((s) => sameSetting(s.point, shipped)) + 1} of ${tuning.ranked.length} in the grid. ` +
        totalsLine(results, LABELS.oursDefaults, LABELS.oursRecommended),
    '',
  ];
}

export function renderTuning(tuning: Tuning, results: readonly SimResult[]): string[] {
  const traces = tuning.references.length;
  const rows = (scored: Scored) => tuning.references.map((reference) => ({
    reference,
    scored,
    outcome: scored.point.perTrace.find((o) => o.trace === reference.trace)!,
  }));
  return [
    '## 3. Tuning our defaults (sweeps)',
    '',
    `Every setting below was simulated on the ${traces} tuning traces (${tuning.references.map((r) => r.trace).join(', ')}; the ` +
      'others in §0 are held out) and ranked by the goal against Spacelift\'s autoscaler, simulated once per trace: first the ' +
      'number of traces where the setting *dominates* it (total cost, instance-hours plus Lambda, <= its defaults\', and p95 ' +
      'and mean wait <= its raised caps\'), then the number where the waits are met, then the mean over traces of ' +
      'instance-hours / the offline floor, then the total cost. *API calls/h* is the mean over traces of the Spacelift and ' +
      `AWS calls per simulated hour. A setting is written as \`ours:\` overrides: \`npm run sim -- --policy 'ours:<setting>'\` runs it.`,
    '',
    gridLine(tuning),
    '',
    '### Ranking',
    '',
    markdownTable(tuning.ranked.map((scored, index) => ({ scored, rank: index + 1 })), [
      { title: 'rank', value: (r) => String(r.rank) },
      { title: 'setting', value: (r) => settingCell(r.scored.point), right: false },
      ...scoreColumns(traces).map((c) => ({ ...c, value: (r: { scored: Scored }) => c.value(r.scored) })),
    ]),
    '',
    '### Each tuning trace: the recommendation and the defaults',
    '',
    markdownTable([...rows(tuning.recommended), ...(tuning.recommendedIsDefault ? [] : rows(tuning.defaults))]
      .sort((a, b) => tuning.references.indexOf(a.reference) - tuning.references.indexOf(b.reference)), TRACE_COLUMNS),
    '',
    '### Poll interval',
    '',
    'At the best setting of the grid and, when that one polls only when needed, at the best one that polls while runs are queued.',
    '',
    markdownTable(tuning.polls, [{ title: 'setting', value: (s) => settingCell(s.point), right: false }, ...scoreColumns(traces)]),
    '',
    'The poll interval matters only while an invocation keeps ticking: while runs are queued under `pollWhen` `queued` ' +
      '(always, under `always`), while busy workers stand in for launches, for a minimum idle floor (not in this suite) ' +
      'and for retries; it sets the API calls and Lambda time those ticks cost, and changes the waits by a second or two.',
    '',
    ...recommendation(tuning, results),
  ];
}
