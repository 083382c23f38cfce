/** §1: ours against Spacelift's autoscaler on every trace, and the ratios. */
import { resultOf } from '../measure/comparison';
import type { SimResult } from '../sim/engine';
import type { Policy } from '../sim/policy';
import { type Column, fmtRatio, markdownTable, RESULT_COLUMNS, resultNotes } from '../sim/report';
import type { Trace } from '../sim/trace';

interface RatioRow {
  readonly trace: string;
  readonly ours: SimResult;
  readonly baseline: SimResult;
}

const RATIO_COLUMNS: readonly Column<RatioRow>[] = [
  { title: 'trace', value: (r) => r.trace, right: false },
  { title: 'ours', value: (r) => r.ours.policy, right: false },
  { title: 'baseline', value: (r) => r.baseline.policy, right: false },
  { title: 'p95 wait ours/baseline', value: (r) => fmtRatio(r.ours.wait.p95, r.baseline.wait.p95) },
  { title: 'mean wait ours/baseline', value: (r) => fmtRatio(r.ours.wait.mean, r.baseline.wait.mean) },
  { title: 'total cost ours/baseline', value: (r) => fmtRatio(r.ours.totalCostHours, r.baseline.totalCostHours) },
];

export function renderComparison(
  traces: readonly Trace[],
  policies: readonly Policy[],
  results: readonly SimResult[],
  recommendedIsDefault: boolean,
): string[] {
  const ours = policies.filter((p) => p.kind === 'ours').map((p) => p.label);
  const baselines = policies.filter((p) => p.kind !== 'ours').map((p) => p.label);
  const ratios = traces.flatMap((t) => ours.flatMap((o) => baselines.map((b) => ({
    trace: t.name,
    ours: resultOf(results, t.name, o),
    baseline: resultOf(results, t.name, b),
  }))));
  const notes = resultNotes(results);
  return [
    '## 1. Ours vs Spacelift\'s autoscaler',
    '',
    ...policies.map((p) => `- **${p.label}**: ${p.settings}`),
    '',
    ...(recommendedIsDefault
      ? ['The defaults are the sweep\'s recommendation (§3), so there is no separate *ours (recommended)* row.', '']
      : []),
    markdownTable(results, RESULT_COLUMNS),
    '',
    'Times in seconds, cost in instance-hours (launch to gone, shutdown included). *lambda-h*: the autoscaler\'s own Lambda ' +
      'bill at list prices, in instance-hours; *total-h*: instance-hours plus lambda-h. *bound-h*: run time plus one fastest ' +
      'boot per instance the trace\'s peak concurrency forces when no run waits (a policy that lets runs wait can need less; ' +
      'the offline floor in §0 is the reference that pays every boot). *busy killed*: terminations that started while the ' +
      'instance\'s worker was busy. *calls/h*: Spacelift and AWS API calls per simulated hour.',
    '',
    ...(notes.length > 0 ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
    '### Ratios',
    '',
    markdownTable(ratios, RATIO_COLUMNS),
    '',
  ];
}
