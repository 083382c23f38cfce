/**
 * The project's performance benchmark; writes BENCHMARKS.md at the repository root.
 *
 *   npx ts-node --transpile-only bench/run.ts [--quick] [--no-bundle] [--no-property] [--out FILE]
 *
 * 0. The cost goal on every trace in bench/traces: ours at its defaults against Spacelift's autoscaler model.
 * 1. Every trace under our autoscaler (defaults, and the sweep's pick when it differs) and Spacelift's autoscaler
 *    model (defaults, and MAX_CREATE = MAX_KILL = max size), with ratios and SVG charts in bench/charts (when the
 *    echarts package is installed).
 * 2. The anchor comparison and the keep-alive comparison.
 * 3. Sweeps of our settings on the tuning traces, ranked by the goal: the evidence for the recommended defaults.
 * 4. The handler's tick against in-memory fakes at 10, 100 and 1,000 workers.
 * 5. Bundle size and module init time of each Lambda asset (after `npm run bundle` unless `--no-bundle`).
 * 6. The fault-mode property test at 10,000 scenarios per property (unless `--quick` or `--no-property`).
 *
 * `--quick` shrinks the sweeps and skips the property test (for a fast look; not for the committed file).
 * Computing is in bench/measure (and bench/sim), Markdown in bench/render.
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { measureAnchor } from './measure/anchor';
import { measureBundles } from './measure/bundles';
import { compare, resultOf } from './measure/comparison';
import { measureFastStarts } from './measure/fast-starts';
import { measureHandlerInChild } from './measure/handler';
import { machine } from './measure/machine';
import { PROPERTY_RUNS, runPropertyTest } from './measure/property';
import { refuseStaleCompiledSources } from './measure/stale-sources';
import { tune } from './measure/tuning';
import { renderAnchor } from './render/anchor';
import { renderBundles } from './render/bundles';
import { writeCharts } from './render/charts';
import { renderComparison } from './render/comparison';
import { renderFastStarts } from './render/fast-starts';
import { renderGoal } from './render/goal';
import { renderHandler } from './render/handler';
import { renderHeader } from './render/header';
import { renderProperty } from './render/property';
import { renderTargets } from './render/targets';
import { renderTuning } from './render/tuning';
import { evaluateGoal } from './sim/goal';
import { goalReference } from './sim/goal-ranking';
import { oursPolicy } from './sim/policies/ours';
import { spaceliftV2Policy } from './sim/policies/spacelift-v2';
import { label, withSetting } from './sim/sweep';
import { LABELS, loadTraces, MODEL, ROOT, SHIPPED, TUNING_TRACES } from './suite';

const argv = process.argv.slice(2);
const args = new Set(argv);
const QUICK = args.has('--quick');
const outIndex = argv.indexOf('--out');
const OUT = outIndex >= 0 ? argv[outIndex + 1] : join(ROOT, 'BENCHMARKS.md');

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  if (OUT === undefined) throw new Error('--out needs a file name');
  refuseStaleCompiledSources();
  const traces = loadTraces();
  const burst = traces.find((t) => t.name === 'burst');
  if (burst === undefined) throw new Error('bench/traces/burst.csv is missing (npx ts-node bench/traces/generate.ts)');
  const tuningTraces = traces.filter((t) => TUNING_TRACES.includes(t.name));

  log('comparison');
  const defaults = oursPolicy({ ...SHIPPED, label: LABELS.oursDefaults });
  const anchors = [
    spaceliftV2Policy({ label: LABELS.anchorDefaults }),
    spaceliftV2Policy({ maxCreate: MODEL.maxSize, maxKill: MODEL.maxSize, label: LABELS.anchorRaised }),
  ];
  const baseline = await compare(traces, [defaults, ...anchors]);
  const references = tuningTraces.map((trace) => goalReference(
    trace,
    MODEL,
    resultOf(baseline, trace.name, LABELS.anchorDefaults),
    resultOf(baseline, trace.name, LABELS.anchorRaised),
  ));
  const tuning = await tune(tuningTraces, references, { quick: QUICK, log });
  const policies = tuning.recommendedIsDefault
    ? [defaults, ...anchors]
    : [defaults, oursPolicy(withSetting(SHIPPED, tuning.recommended.point, LABELS.oursRecommended)), ...anchors];
  const results = await compare(traces, policies, baseline);
  const goals = traces.map((trace) => evaluateGoal(
    trace,
    MODEL,
    resultOf(results, trace.name, LABELS.oursDefaults),
    resultOf(results, trace.name, LABELS.anchorDefaults),
    resultOf(results, trace.name, LABELS.anchorRaised),
  ));
  log('anchor');
  const anchor = await measureAnchor(burst, traces, results);
  log('fast starts');
  const fastStarts = await measureFastStarts(traces, (trace) => resultOf(results, trace, LABELS.anchorDefaults));
  log('handler');
  const handler = measureHandlerInChild();
  const bundles = measureBundles(!args.has('--no-bundle'), log);
  const property = QUICK || args.has('--no-property') ? undefined : runPropertyTest(PROPERTY_RUNS, log);

  const md = [
    ...renderHeader(argv, machine(), MODEL),
    ...renderGoal(goals, TUNING_TRACES),
    ...renderTargets(results, fastStarts),
    ...renderComparison(traces, policies, results, tuning.recommendedIsDefault),
    ...writeCharts(results, traces, policies.length),
    ...renderAnchor(anchor),
    ...renderTuning(tuning, results),
    ...renderHandler(handler),
    ...renderBundles(bundles),
    ...renderProperty(property),
    ...renderFastStarts(fastStarts),
  ].join('\n');
  writeFileSync(OUT, `${md}\n`);
  log(`wrote ${relative(ROOT, OUT) || OUT} (recommended: ${label(tuning.recommended.point)})`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
