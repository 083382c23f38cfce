/** §7: fast starts (computed by measure/fast-starts.ts). */
import { FAST_START_VARIANTS, P95_GOAL_SECONDS, STOPPED_COST_RATIOS, WARM_POOL_SIZE, type FastStartRow } from '../measure/fast-starts';
import type { SimResult } from '../sim/engine';
import { DEFAULT_STOPPED_COST_RATIO, DEFAULT_WARM_START_SECONDS } from '../sim/model';
import { DEFAULT_PRICES } from '../sim/prices';
import { type Column, fmtHours, fmtSeconds, markdownTable } from '../sim/report';
import { DEFAULT_WEBHOOK } from '../sim/webhook';

/** A result's whole bill in running instance-hours of `type`: stopped hours at its ratio, Lambda at its dollars. */
function hoursOfType(result: SimResult, type: (typeof STOPPED_COST_RATIOS)[number]): number {
  return result.instanceHours + result.stoppedHours * type.ratio + (result.lambdaHours * DEFAULT_PRICES.instanceHour) / type.instanceHour;
}

/** Dollars the warm pool adds per hour of waiting it saves, `with` against `without`, for an instance type. */
function dollarsPerWaitHourSaved(withPool: SimResult, without: SimResult, type: (typeof STOPPED_COST_RATIOS)[number]): number | undefined {
  const saved = without.waitHours - withPool.waitHours;
  if (saved <= 0) return undefined;
  return ((hoursOfType(withPool, type) - hoursOfType(without, type)) * type.instanceHour) / saved;
}

const warmPoolValue = (r: FastStartRow, type: (typeof STOPPED_COST_RATIOS)[number]) =>
  dollarsPerWaitHourSaved(r.results['warm pool + webhook'], r.results.webhook, type);

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
    const infeasible = r.boundAtGoalHours > r.anchorDefaults.totalCostHours;
    return `${r.trace}: p95 ${fmtSeconds(result.wait.p95)} s (${fast ? 'met' : '**not met**'}), ` +
      `${fmtHours(result.totalCostHours)} h against ${fmtHours(r.anchorDefaults.totalCostHours)} h (${cheap ? 'met' : '**not met**'}); ` +
      `any policy within ${P95_GOAL_SECONDS} s needs at least ${r.boundAtGoalHours.toFixed(3)} h` +
      `${infeasible ? ' (**infeasible**: more than Spacelift\'s whole bill)' : ''}`;
  });
  const warmPays = rows.filter((r) => r.results['warm pool'].totalCostHours <= r.results.defaults.totalCostHours).map((r) => r.trace);
  const valueColumns: Column<FastStartRow>[] = [
    { title: 'trace', value: (r) => r.trace, right: false },
    {
      title: 'wait h saved (webhook -> + warm pool)',
      value: (r) => fmtHours(r.results.webhook.waitHours - r.results['warm pool + webhook'].waitHours),
    },
    ...STOPPED_COST_RATIOS.map((type): Column<FastStartRow> => ({
      title: `$ per wait-hour saved, ${type.instanceType} (stopped ${type.ratio})`,
      value: (r) => {
        const dollars = warmPoolValue(r, type);
        return dollars === undefined ? 'no saving' : `$${dollars.toFixed(3)}`;
      },
    })),
  ];
  const sized = rows.filter((r) => r.burstSized !== undefined);
  const sizedColumns: Column<FastStartRow>[] = [
    { title: 'trace', value: (r) => r.trace, right: false },
    { title: 'warm pool', value: (r) => String(r.burstSized!.size) },
    { title: 'p50 / p95 s', value: (r) => `${fmtSeconds(r.burstSized!.result.wait.p50)} / ${fmtSeconds(r.burstSized!.result.wait.p95)}` },
    ...STOPPED_COST_RATIOS.map((type): Column<FastStartRow> => ({
      title: `${type.instanceType} (stopped ${type.ratio}): ours / spacelift-v2 total h`,
      value: (r) => `${fmtHours(hoursOfType(r.burstSized!.result, type))} / ${fmtHours(hoursOfType(r.anchorDefaults, type))}`,
    })),
    { title: `bound at ${P95_GOAL_SECONDS} s h`, value: (r) => fmtHours(r.boundAtGoalHours) },
  ];
  const fastSized = sized.filter((r) => r.burstSized!.result.wait.p95 <= P95_GOAL_SECONDS).map((r) => r.trace);
  const slowSized = sized.filter((r) => r.burstSized!.result.wait.p95 > P95_GOAL_SECONDS).map((r) => {
    const { peak, size, result } = r.burstSized!;
    return `${r.trace}: ${peak > size ? `${peak} runs at once, max size ${size}` : `p95 ${fmtSeconds(result.wait.p95)} s`}`;
  });
  const bothMet = sized.flatMap((r) => {
    const result = r.burstSized!.result;
    return STOPPED_COST_RATIOS
      .filter((type) => result.wait.p95 <= P95_GOAL_SECONDS && hoursOfType(result, type) <= hoursOfType(r.anchorDefaults, type))
      .map((type) => `${r.trace} (${type.instanceType})`);
  });
  const proven = bursts.filter((r) => r.boundAtGoalHours > r.anchorDefaults.totalCostHours).map((r) => r.trace);
  // Against the webhook alone, at any of the priced types.
  const lowersBill = rows.filter((r) => STOPPED_COST_RATIOS.some((type) =>
    hoursOfType(r.results['warm pool + webhook'], type) < hoursOfType(r.results.webhook, type))).map((r) => r.trace);
  const values = rows.flatMap((r) => STOPPED_COST_RATIOS.map((type) => warmPoolValue(r, type)));
  const saving = values.filter((v): v is number => v !== undefined);
  const worst = saving.length === 0 ? undefined : Math.max(...saving);
  const noSaving = rows.filter((r) => STOPPED_COST_RATIOS.some((type) => warmPoolValue(r, type) === undefined)).map((r) => r.trace);
  return [
    '## 7. Fast starts: the webhook and a warm pool',
    '',
    `Our defaults (one look a minute unless a tick is due), with Spacelift's \`run_updated\` webhook poking the autoscaler ` +
      `(delivered ${DEFAULT_WEBHOOK.delaySeconds} s after the run changes, at most one tick per ${DEFAULT_WEBHOOK.minIntervalSeconds} s, ` +
      'a delivery inside the interval ticking at its end), ' +
      `with a warm pool of ${WARM_POOL_SIZE} stopped instances (start ${DEFAULT_WARM_START_SECONDS} s, a stopped instance-hour costs ` +
      `${DEFAULT_STOPPED_COST_RATIO} of a running one, each refill boot billed), and with both. *total h*: instance-hours, stopped ` +
      'instance-hours at their ratio, and the autoscaler\'s Lambda bill (the webhook function\'s own milliseconds are not counted).',
    '',
    markdownTable(rows, columns),
    '',
    `- Burst traces with the warm pool and the webhook, against the goal p95 <= ${P95_GOAL_SECONDS} s at a total cost no higher ` +
      `than Spacelift's autoscaler at its defaults: ${burstVerdicts.join('; ') || 'none'}.`,
    `- A warm pool of ${WARM_POOL_SIZE} costs no more than no warm pool on: ${warmPays.join(', ') || 'none'}.`,
    `- *needs at least* is sim/floor.ts's wait-bounded lower bound at ${P95_GOAL_SECONDS} s, which holds with this library's ` +
      'warm pool too (measure/fast-starts.ts, `refillingWarmPoolBound`): the pool refills each instance a scale-out takes ' +
      'from it with a new instance that boots before it stops, so a warm start never costs less than the cold boot it ' +
      `replaces. ${proven.length === 0 ? 'It proves the goal out of reach on no trace.' : `It exceeds Spacelift's whole bill, ` +
        `so the goal is out of reach for any policy, on ${proven.join(', ')}: Spacelift's autoscaler at its defaults is ` +
        'cheaper there because its runs wait for one another.'}`,
    '',
    '### A warm pool as large as the burst',
    '',
    'A warm pool as large as the burst\'s peak concurrency (up to max size), with the webhook, starts it within ' +
      `${P95_GOAL_SECONDS} s on ${fastSized.join(', ') || 'no trace'}` +
      `${slowSized.length > 0 ? ` (not on ${slowSized.join('; ')})` : ''}. Every warm start is followed by a refill boot, ` +
      'and the stopped volumes add their price; each bill is in running instance-hours of the type (Lambda at its dollars). ' +
      `Within ${P95_GOAL_SECONDS} s at no more than Spacelift's cost: ${bothMet.join(', ') || 'no trace, at any of these types'}.`,
    '',
    markdownTable(sized, sizedColumns),
    '',
    '### When a warm pool pays for itself',
    '',
    `${lowersBill.length === 0 ? 'It lowered the bill on no trace' : `It lowered the bill on ${lowersBill.join(', ')} only`}: ` +
      'each warm start costs its resume plus the refill\'s boot, and stopped instances cost their ' +
      'volumes. What it buys is waiting time. The table prices that: what a warm pool of ' +
      `${WARM_POOL_SIZE} adds to the webhook alone, in dollars per hour of waiting saved (summed over runs), for instance types ` +
      'at their list prices (a stopped 40 GiB gp3 volume is a smaller share of a larger type\'s price, but each extra ' +
      'running second costs more). Use one when an hour of your runs\' waiting is worth more than that to you: ' +
      `${worst === undefined ? 'it saved no waiting on any trace' : `at most $${worst.toFixed(2)} per hour saved on any trace and type here`}` +
      `${noSaving.length > 0 ? `; no saving on ${noSaving.join(', ')}` : ''}.`,
    '',
    markdownTable(rows, valueColumns),
    '',
  ];
}
