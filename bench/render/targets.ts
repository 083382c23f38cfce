/** The targets §0 does not cover: the burst's p95 wait (with and without the webhook), and no busy worker terminated. */
import { resultOf } from '../measure/comparison';
import type { FastStartRow } from '../measure/fast-starts';
import type { SimResult } from '../sim/engine';
import { fmtRatio, fmtSeconds, markdownTable } from '../sim/report';
import { BOOT, LABELS } from '../suite';

const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

export function renderTargets(results: readonly SimResult[], fastStarts: readonly FastStartRow[]): string[] {
  const ours = resultOf(results, 'burst', LABELS.oursDefaults);
  const anchor = resultOf(results, 'burst', LABELS.anchorDefaults);
  const burst = fastStarts.find((row) => row.trace === 'burst');
  if (burst === undefined) throw new Error('no fast-start result for burst');
  const poked = burst.results.webhook;
  const busyTerminated = [...results.filter((r) => r.kind === 'ours'), ...fastStarts.flatMap((row) => Object.values(row.results))]
    .reduce((s, r) => s + r.busyTerminated, 0);
  const rows = [
    {
      target: `burst, defaults: ours p95 wait <= boot + one look a minute (${BOOT + 60} s)`,
      measured: `${fmtSeconds(ours.wait.p95)} s`,
      met: ours.wait.p95 <= BOOT + 60,
    },
    {
      target: `burst, with the webhook: ours p95 wait <= boot + 15 s (${BOOT + 15} s)`,
      measured: `${fmtSeconds(poked.wait.p95)} s`,
      met: poked.wait.p95 <= BOOT + 15,
    },
    {
      target: 'burst, with the webhook: ours p95 wait <= 0.1x Spacelift at defaults',
      measured: `${fmtSeconds(poked.wait.p95)} s vs ${fmtSeconds(anchor.wait.p95)} s (${fmtRatio(poked.wait.p95, anchor.wait.p95)})`,
      met: poked.wait.p95 <= 0.1 * anchor.wait.p95,
    },
    {
      target: 'busy workers terminated by ours, all traces and variants (§1, §7)',
      measured: String(busyTerminated),
      met: busyTerminated === 0,
    },
  ];
  return [
    '## Targets (measured, not asserted)',
    '',
    markdownTable(rows, [
      { title: 'target', value: (r) => r.target, right: false },
      { title: 'measured', value: (r) => r.measured, right: false },
      { title: 'verdict', value: (r) => verdict(r.met), right: false },
    ]),
    '',
  ];
}
