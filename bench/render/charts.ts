/** §1's charts: one SVG per trace in bench/charts (when the echarts package is installed). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { chartAvailable, renderChart } from '../sim/chart';
import type { SimResult } from '../sim/engine';
import { describeDistribution } from '../sim/model';
import type { Trace } from '../sim/trace';
import { MODEL, ROOT } from '../suite';

const CHART_DIR = join(ROOT, 'bench', 'charts');

/** Writes the charts and returns the lines that link them. */
export function writeCharts(results: readonly SimResult[], traces: readonly Trace[], policyCount: number): string[] {
  if (!chartAvailable()) {
    return ['Charts: not drawn (the `echarts` package is not installed).', ''];
  }
  mkdirSync(CHART_DIR, { recursive: true });
  const written: string[] = [];
  for (const trace of traces) {
    const path = join(CHART_DIR, `${trace.name}.svg`);
    writeFileSync(path, renderChart(results.filter((r) => r.trace === trace.name), {
      title: `Trace "${trace.name}": ${trace.runs.length} runs`,
      subtitle: `boot ${describeDistribution(MODEL.boot)}, max ${MODEL.maxSize}, API latency ${MODEL.latency.spacelift}s/${MODEL.latency.aws}s`,
    }));
    written.push(relative(ROOT, path));
  }
  return [
    `Charts (queued runs, busy workers, billed instances and desired capacity over time, all ${policyCount} policies): ` +
      `${written.map((p) => `[${p.split('/').pop()}](${p})`).join(', ')}.`,
    '',
    `![burst](${written.find((p) => p.endsWith('burst.svg'))})`,
    '',
  ];
}
