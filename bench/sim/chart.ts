/**
 * SVG timeline chart of one trace under several policies: four stacked panels (queued runs, busy
 * workers, billed instances, desired capacity), one step line per policy in each.
 *
 * Rendered with Apache ECharts' server-side SVG renderer (`ssr: true`, no DOM). ECharts is loaded
 * with a plain `require` through the small interface below, so the rest of the simulator (and the
 * type check) does not depend on it being installed; `--svg` says how to install it when it is not.
 */
import type { SimResult } from './engine';

interface EChartsInstance {
  setOption(option: Record<string, unknown>): void;
  renderToSVGString(): string;
  dispose(): void;
}

interface EChartsModule {
  init(dom: null, theme: null, options: { renderer: 'svg'; ssr: true; width: number; height: number }): EChartsInstance;
}

export class ChartUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the SVG chart needs the "echarts" package: npm install --save-dev echarts@6.1.0', { cause });
    this.name = 'ChartUnavailableError';
  }
}

function loadECharts(): EChartsModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('echarts') as EChartsModule;
  } catch (error) {
    throw new ChartUnavailableError(error);
  }
}

/** Whether `echarts` can be loaded (tests skip the SVG checks without it). */
export function chartAvailable(): boolean {
  try {
    loadECharts();
    return true;
  } catch {
    return false;
  }
}

const PANELS = [
  { key: 'queued', title: 'Queued runs (waiting for a worker)' },
  { key: 'busy', title: 'Busy workers' },
  { key: 'instances', title: 'Instances (billed: booting, serving, draining)' },
  { key: 'desired', title: 'Desired capacity' },
] as const;

type PanelKey = (typeof PANELS)[number]['key'];

/** Colour-blind-safe (Okabe-Ito), ours first. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const DASHES: (string | number[])[] = ['solid', [8, 4], [2, 3], [10, 3, 2, 3], 'solid', [8, 4], [2, 3]];

/**
 * Step points (x in minutes) for one metric. Long timelines are reduced to at most `bins` intervals,
 * each showing the largest value it contained, so peaks survive.
 */
export function stepPoints(result: SimResult, key: PanelKey, bins = 1200): [number, number][] {
  const samples = result.timeline;
  const end = result.endTime;
  const points: [number, number][] = [];
  if (samples.length === 0) return points;
  if (samples.length <= bins * 2) {
    for (const sample of samples) points.push([sample.t / 60, sample[key]]);
  } else {
    const width = end / bins;
    let index = 0;
    let carry = samples[0][key];
    for (let bin = 0; bin < bins; bin++) {
      const binEnd = (bin + 1) * width;
      let peak = carry;
      while (index < samples.length && samples[index].t < binEnd) {
        carry = samples[index][key];
        peak = Math.max(peak, carry);
        index++;
      }
      points.push([(bin * width) / 60, peak]);
    }
  }
  points.push([end / 60, samples[samples.length - 1][key]]);
  return points;
}

export interface ChartOptions {
  readonly title?: string;
  readonly subtitle?: string;
  readonly width?: number;
}

/** One SVG for results of the same trace (one per policy). */
export function renderChart(results: readonly SimResult[], options: ChartOptions = {}): string {
  if (results.length === 0) throw new Error('renderChart: no results');
  const echarts = loadECharts();
  const width = options.width ?? 1100;
  const top = 104;
  const panelHeight = 150;
  const gap = 52;
  const height = top + PANELS.length * (panelHeight + gap) + 10;
  const endMinutes = Math.max(...results.map((r) => r.endTime)) / 60;
  const xMax = Math.ceil(endMinutes / 5) * 5 || 5;

  const grids = PANELS.map((_, i) => ({ left: 64, right: 28, top: top + i * (panelHeight + gap), height: panelHeight }));
  const titles = [
    {
      text: options.title ?? `Trace ${results[0].trace}`,
      subtext: options.subtitle ?? '',
      left: 16,
      top: 8,
      textStyle: { fontSize: 17, fontWeight: 'bold', color: '#222' },
      subtextStyle: { fontSize: 12, color: '#555' },
    },
    ...PANELS.map((panel, i) => ({
      text: panel.title,
      left: 60,
      top: grids[i].top - 22,
      textStyle: { fontSize: 13, fontWeight: 'normal', color: '#333' },
    })),
  ];
  const xAxes = PANELS.map((_, i) => ({
    type: 'value',
    gridIndex: i,
    min: 0,
    max: xMax,
    name: i === PANELS.length - 1 ? 'minutes from trace start' : '',
    nameLocation: 'middle',
    nameGap: 26,
    axisLabel: { fontSize: 11, color: '#444' },
    splitLine: { lineStyle: { color: '#eee' } },
  }));
  const yAxes = PANELS.map((_, i) => ({
    type: 'value',
    gridIndex: i,
    min: 0,
    minInterval: 1,
    axisLabel: { fontSize: 11, color: '#444' },
    splitLine: { lineStyle: { color: '#e6e6e6' } },
  }));
  const series = results.flatMap((result, p) =>
    PANELS.map((panel, i) => ({
      name: result.policy,
      type: 'line',
      step: 'end',
      xAxisIndex: i,
      yAxisIndex: i,
      showSymbol: false,
      symbol: 'none',
      data: stepPoints(result, panel.key),
      lineStyle: { width: 1.8, color: COLOURS[p % COLOURS.length], type: DASHES[p % DASHES.length], opacity: 0.9 },
      itemStyle: { color: COLOURS[p % COLOURS.length] },
    })),
  );
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: 'DejaVu Sans, Helvetica, Arial, sans-serif' },
      title: titles,
      legend: {
        top: 62,
        left: 16,
        itemWidth: 30,
        itemGap: 64,
        icon: 'rect',
        itemHeight: 3,
        textStyle: { fontSize: 12, color: '#222' },
        data: results.map((r) => r.policy),
      },
      grid: grids,
      xAxis: xAxes,
      yAxis: yAxes,
      series,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
