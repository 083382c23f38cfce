/** §7: fast starts (computed by measure/fast-starts.ts). */
import { FAST_START_VARIANTS, WARM_POOL_SIZE, type FastStartRow } from '../measure/fast-starts';
import { DEFAULT_STOPPED_COST_RATIO, DEFAULT_WARM_START_SECONDS } from '../sim/model';
import { type Column, fmtHours, fmtSeconds, markdownTable } from '../sim/report';
import { DEFAULT_WEBHOOK } from '../sim/webhook';

/** The goal for burst traces with a warm pool and the webhook. */
const P95_GOAL_SECONDS = 45;

export function renderFastStarts(rows: readonly FastStartRow[]): string[] {
  const columns: Column<FastStartRow>[] = [
    { title: 'trace', value: (r) => r.trace, right: false },
    ...FAST_START_VARIANTS.map((variant): Column<FastStartRow> => ({
      title: `${variant}: p50 / p95 s, total h`,
      value: (r) => {
        const result = r.results[variant];
        return `${fmtSeconds(result.wait.p50)} / ${fmtSeconds(result.wait.p95)}, ${fmtHours(result.totalCostHours)}`;
      },
    })),
    { title: 'spacelift-v2 (defaults) total h', value: (r) => fmtHours(r.anchorDefaults.totalCostHours) },
  ];
  const bursts = rows.filter((r) => r.trace.startsWith('burst'));
  const both = (r: FastStartRow) => r.results['warm pool + webhook'];
  const burstVerdicts = bursts.map((r) => {
    const result = both(r);
    const fast = result.wait.p95 <= P95_GOAL_SECONDS;
    const cheap = result.totalCostHours <= r.anchorDefaults.totalCostHours;
    return `${r.trace}: p95 ${fmtSeconds(result.wait.p95)} s (${fast ? 'met' : '**not met**'}), ` +
      `${fmtHours(result.totalCostHours)} h against ${fmtHours(r.anchorDefaults.totalCostHours)} h (${cheap ? 'met' : '**not met**'})`;
  });
  const warmPays = rows.filter((r) => r.results['warm pool'].totalCostHours <= r.results.defaults.totalCostHours).map((r) => r.trace);
  return [
    '## 7. Fast starts: the webhook and a warm pool',
    '',
    `Our defaults (one look a minute unless a tick is due), with Spacelift's \`run_updated\` webhook poking the autoscaler ` +
      `(delivered ${DEFAULT_WEBHOOK.delaySeconds} s after the run changes, at most one poke per ${DEFAULT_WEBHOOK.minIntervalSeconds} s), ` +
      `with a warm pool of ${WARM_POOL_SIZE} stopped instances (start ${DEFAULT_WARM_START_SECONDS} s, a stopped instance-hour costs ` +
      `${DEFAULT_STOPPED_COST_RATIO} of a running one, each refill boot billed), and with both. *total h*: instance-hours, stopped ` +
      'instance-hours at their ratio, and the autoscaler\'s Lambda bill (the webhook function\'s own milliseconds are not counted).',
    '',
    markdownTable(rows, columns),
    '',
    `- Burst traces with the warm pool and the webhook, against the goal p95 <= ${P95_GOAL_SECONDS} s at a total cost no higher ` +
      `than Spacelift's autoscaler at its defaults: ${burstVerdicts.join('; ') || 'none'}.`,
    `- A warm pool of ${WARM_POOL_SIZE} costs no more than no warm pool on: ${warmPays.join(', ') || 'none'}.`,
    '',
  ];
}
