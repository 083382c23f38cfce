/**
 * cdk-ec2-workerpool-sim: replays run traces against this library's autoscaler (the real handler
 * and `lambda/core` policy) and a model of Spacelift's own autoscaler, and reports queue waits and
 * instance-hours. See `--help`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseScaleDownDelay } from '../../lambda/core/scale-down-delay';
import { renderChart } from './chart';
import { simulate, type SimResult } from './engine';
import {
  DEFAULT_MODEL,
  DEFAULT_STOPPED_COST_RATIO,
  DEFAULT_WARM_START_SECONDS,
  describeDistribution,
  NO_FAULTS,
  parseDistribution,
  type Faults,
  type SimModel,
} from './model';
import { DEFAULT_OURS, type OursOptions } from './policies/ours';
import { SPACELIFT_V2_DEFAULTS } from './policies/spacelift-v2';
import { parsePolicy, splitPolicyList, DEFAULT_POLICY_DEFAULTS } from './policies/spec';
import { formatResults, resultJson, table } from './report';
import { DEFAULT_GRID, label, parseDelayList, parseNumberList, sweep, type SweepOutcome, type SweepPoint } from './sweep';
import type { Trace } from './trace';
import { loadTraceFile } from './usage-csv';

export const USAGE = `Usage: cdk-ec2-workerpool-sim --trace runs.csv [options]

Replays a trace of Spacelift runs against autoscaling policies and reports queue waits and cost.
"ours" runs this library's real autoscaler handler (lambda/autoscaler + lambda/core); "spacelift-v2"
is a model of Spacelift's ec2-workerpool-autoscaler v2.7/v2.8.

Trace:
  --trace FILE[,FILE]     CSV with a header naming submit_s and duration_s (seconds from trace
                          start; other columns are ignored), or Spacelift's usage export
                          (spacectl profile usage-csv --aspect run-minutes; detected by its
                          timestamp_unix column; see bench/traces/README.md). Repeatable.
  --worker-pool NAME      usage export: the worker pool (name or ULID) whose runs to replay;
                          needed when the export has several private pools

Policies:
  --policy LIST           Comma-separated (default: ours,spacelift-v2). Names:
                            ours                  this library's autoscaler
                            spacelift-v2          Spacelift's autoscaler at its defaults (MAX_CREATE=1, MAX_KILL=1)
                            spacelift-v2-tuned    the same with MAX_CREATE = MAX_KILL = --max
                          Per-policy overrides follow a colon, separated by "/":
                            ours:poll=10/delay=fixed:60/maxTerminate=2/maxCreate=4/minIdle=1/grace=600/reclaim=900/label=NAME
                            spacelift-v2:create=5/kill=5/delay=3/idleTime=true/version=2.7/util=80
  --poll S                ours: POLL_INTERVAL_SECONDS (default 15)
  --schedule S            invocation rate of both autoscalers (default 60)
  --scale-down-delay D    ours: fixed:<s> | breakEven[:boot=<s>,min=<s>,max=<s>]
                          (default ${DEFAULT_OURS.scaling.scaleDownDelay.toString()})
  --max-terminate N       ours: maxTerminatePerTick (default ${DEFAULT_OURS.scaling.maxTerminatePerTick})
  --max-create N          ours: maxCreatePerTick (default: close the whole gap)
  --min-idle N            ours: idle workers to keep (default 0)
  --phase S               seconds from trace start to the first invocation (default 0)

Environment model:
  --max N / --min N       ASG max and min size (default 20 / 0)
  --initial N             idle instances running at trace start (default: min)
  --boot DIST             launch to registered worker: 90 | fixed:90 | uniform:60-180 |
                          empirical:75,90,140 (default 90)
  --in-service S          launch to ASG InService (default 40, capped by boot)
  --terminate S           terminate request to instance gone, billed (default 20)
  --latency-spacelift S   per Spacelift API call (default 0.3)
  --latency-aws S         per AWS API call (default 0.15)
  --warm-pool N[:S]       warm pool of N stopped instances that register S seconds after launch (default 30:
                          the top of the 10-30 s warm starts reported publicly; see bench/sim/model.ts)
  --stopped-cost-ratio R  cost of a stopped warm-pool instance-hour in running instance-hours (default 0.21:
                          40 GiB gp3 against an on-demand t3.small in us-east-1; see bench/sim/model.ts)
  --no-hook               no termination lifecycle hook (busy instances die with their run)
  --no-available-at       the pool API has no availableAt (idle-since)
  --seed N                random seed (default 1)

Faults (for robustness checks):
  --faults                enable a default fault mix: 5% call failures, 0.05 deaths per
                          instance-hour, 5% boot failures, 0.5 cold starts per hour
  --call-failure-rate P   --death-rate PER_INSTANCE_HOUR   --boot-failure-rate P
  --cold-starts-per-hour R   --faults-until S (no new faults after S seconds)

Output:
  --json                  JSON on stdout instead of the table
  --timeline              include the timeline in --json output
  --svg FILE              SVG chart (queued, busy, instances, desired over time, policies overlaid);
                          with several traces, the trace name is added before ".svg"

Sweep (tunes ours on the given traces):
  --sweep                 try every combination of the lists below and print the Pareto front
                          (mean queue wait vs instance-hours) with a recommended setting
  --sweep-poll LIST       default ${DEFAULT_GRID.pollIntervals.join(',')}
  --sweep-delay LIST      semicolon-separated, default ${DEFAULT_GRID.delays.join(';')}
  --sweep-max-terminate LIST   default ${DEFAULT_GRID.maxTerminate.join(',')}
  --wait-price P          recommend the front's setting minimising instance-hours + P * queue-hours
                          (default 1: a queued second costs as much as an instance-second)

  -h, --help              this text

Example:
  cdk-ec2-workerpool-sim --trace bench/traces/burst.csv --policy ours,spacelift-v2,spacelift-v2-tuned --svg burst.svg
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTIONS = {
  'trace': { type: 'string', multiple: true },
  'worker-pool': { type: 'string' },
  'policy': { type: 'string' },
  'poll': { type: 'string' },
  'schedule': { type: 'string' },
  'scale-down-delay': { type: 'string' },
  'max-terminate': { type: 'string' },
  'max-create': { type: 'string' },
  'min-idle': { type: 'string' },
  'phase': { type: 'string' },
  'max': { type: 'string' },
  'min': { type: 'string' },
  'initial': { type: 'string' },
  'boot': { type: 'string' },
  'in-service': { type: 'string' },
  'terminate': { type: 'string' },
  'latency-spacelift': { type: 'string' },
  'latency-aws': { type: 'string' },
  'warm-pool': { type: 'string' },
  'stopped-cost-ratio': { type: 'string' },
  'no-hook': { type: 'boolean' },
  'no-available-at': { type: 'boolean' },
  'seed': { type: 'string' },
  'faults': { type: 'boolean' },
  'call-failure-rate': { type: 'string' },
  'death-rate': { type: 'string' },
  'boot-failure-rate': { type: 'string' },
  'cold-starts-per-hour': { type: 'string' },
  'faults-until': { type: 'string' },
  'json': { type: 'boolean' },
  'timeline': { type: 'boolean' },
  'svg': { type: 'string' },
  'sweep': { type: 'boolean' },
  'sweep-poll': { type: 'string' },
  'sweep-delay': { type: 'string' },
  'sweep-max-terminate': { type: 'string' },
  'wait-price': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function num(values: Values, key: keyof Values, fallback: number, min = 0, integer = false): number {
  const raw = values[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${key} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${String(raw)}"`);
  }
  return value;
}

function usage<T>(what: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

export interface CliConfig {
  readonly traces: readonly Trace[];
  readonly policies: readonly string[];
  readonly model: SimModel;
  readonly ours: OursOptions;
  readonly scheduleSeconds: number;
  readonly phaseSeconds: number;
  readonly values: Values;
}

export function buildConfig(argv: readonly string[]): CliConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.help) return 'help';
  const traceFiles = (values.trace ?? []).flatMap((t) => t.split(',')).filter((t) => t !== '');
  if (traceFiles.length === 0) throw new UsageError('--trace is required');

  const maxSize = num(values, 'max', DEFAULT_MODEL.maxSize, 0, true);
  const minSize = num(values, 'min', DEFAULT_MODEL.minSize, 0, true);
  if (minSize > maxSize) throw new UsageError(`--min ${minSize} is above --max ${maxSize}`);
  let faults: Faults = values.faults
    ? { ...NO_FAULTS, callFailureRate: 0.05, deathsPerInstanceHour: 0.05, bootFailureRate: 0.05, coldStartsPerHour: 0.5 }
    : NO_FAULTS;
  faults = {
    ...faults,
    callFailureRate: num(values, 'call-failure-rate', faults.callFailureRate),
    deathsPerInstanceHour: num(values, 'death-rate', faults.deathsPerInstanceHour),
    bootFailureRate: num(values, 'boot-failure-rate', faults.bootFailureRate),
    coldStartsPerHour: num(values, 'cold-starts-per-hour', faults.coldStartsPerHour),
    until: values['faults-until'] === undefined ? undefined : num(values, 'faults-until', 0),
  };
  if (faults.callFailureRate > 1 || faults.bootFailureRate > 1) throw new UsageError('failure rates are probabilities: at most 1');

  let warmPool: SimModel['warmPool'];
  if (values['warm-pool'] !== undefined) {
    const match = /^(\d+)(?::(\d+(?:\.\d+)?))?$/.exec(values['warm-pool']);
    if (!match) throw new UsageError(`--warm-pool must be SIZE or SIZE:RESUME_SECONDS, got "${values['warm-pool']}"`);
    warmPool = {
      size: Number(match[1]),
      resumeSeconds: match[2] === undefined ? DEFAULT_WARM_START_SECONDS : Number(match[2]),
      stoppedCostRatio: num(values, 'stopped-cost-ratio', DEFAULT_STOPPED_COST_RATIO),
    };
  } else if (values['stopped-cost-ratio'] !== undefined) {
    throw new UsageError('--stopped-cost-ratio needs --warm-pool');
  }
  const model: SimModel = {
    ...DEFAULT_MODEL,
    boot: values.boot === undefined ? DEFAULT_MODEL.boot : usage('--boot', () => parseDistribution(values.boot!)),
    inServiceSeconds: num(values, 'in-service', DEFAULT_MODEL.inServiceSeconds),
    terminateSeconds: num(values, 'terminate', DEFAULT_MODEL.terminateSeconds),
    minSize,
    maxSize,
    initialInstances: num(values, 'initial', minSize, 0, true),
    latency: {
      spacelift: num(values, 'latency-spacelift', DEFAULT_MODEL.latency.spacelift),
      aws: num(values, 'latency-aws', DEFAULT_MODEL.latency.aws),
    },
    lifecycleHook: !values['no-hook'],
    availableAt: !values['no-available-at'],
    warmPool,
    faults,
    seed: num(values, 'seed', DEFAULT_MODEL.seed, 0, true),
  };

  const scheduleSeconds = num(values, 'schedule', 60, 1);
  const phaseSeconds = num(values, 'phase', 0);
  const scaling = {
    ...DEFAULT_OURS.scaling,
    ...(values['scale-down-delay'] !== undefined
      ? { scaleDownDelay: usage('--scale-down-delay', () => parseScaleDownDelay(values['scale-down-delay']!)) }
      : {}),
    ...(values['max-terminate'] !== undefined ? { maxTerminatePerTick: num(values, 'max-terminate', 1, 0, true) } : {}),
    ...(values['max-create'] !== undefined ? { maxCreatePerTick: num(values, 'max-create', 1, 1, true) } : {}),
    ...(values['min-idle'] !== undefined ? { minIdle: num(values, 'min-idle', 0, 0, true) } : {}),
  };
  const ours: OursOptions = {
    ...DEFAULT_OURS,
    scaling,
    pollIntervalSeconds: num(values, 'poll', DEFAULT_OURS.pollIntervalSeconds, 1),
    scheduleSeconds,
  };
  const policies = splitPolicyList(values.policy ?? 'ours,spacelift-v2');
  if (policies.length === 0) throw new UsageError('--policy names no policy');
  const traces = traceFiles.map((file) => usage('--trace', () => loadTraceFile(file, { workerPool: values['worker-pool'] })));
  return { traces, policies, model, ours, scheduleSeconds, phaseSeconds, values };
}

function policyDefaults(config: CliConfig) {
  return {
    ...DEFAULT_POLICY_DEFAULTS,
    ours: config.ours,
    v2: { ...SPACELIFT_V2_DEFAULTS, scheduleSeconds: config.scheduleSeconds },
    maxSize: config.model.maxSize,
    phaseSeconds: config.phaseSeconds,
  };
}

export async function runComparison(config: CliConfig): Promise<SimResult[]> {
  const defaults = policyDefaults(config);
  const policies = config.policies.map((spec) => usage('--policy', () => parsePolicy(spec, defaults)));
  const results: SimResult[] = [];
  for (const trace of config.traces) {
    for (const policy of policies) results.push(await simulate(trace, policy, config.model));
  }
  return results;
}

export function svgPath(base: string, trace: string, many: boolean): string {
  if (!many) return base;
  return /\.svg$/i.test(base) ? base.replace(/\.svg$/i, `-${trace}.svg`) : `${base}-${trace}.svg`;
}

export function modelSummary(model: SimModel): string {
  const parts = [
    `boot ${describeDistribution(model.boot)}`,
    `size ${model.minSize}-${model.maxSize}`,
    `latency ${model.latency.spacelift}s/${model.latency.aws}s`,
  ];
  if (model.warmPool) parts.push(`warm pool ${model.warmPool.size} (resume ${model.warmPool.resumeSeconds}s, stopped cost ratio ${model.warmPool.stoppedCostRatio})`);
  if (!model.lifecycleHook) parts.push('no lifecycle hook');
  const f = model.faults;
  if (f.callFailureRate > 0 || f.deathsPerInstanceHour > 0 || f.bootFailureRate > 0 || f.coldStartsPerHour > 0) {
    parts.push(`faults: calls ${f.callFailureRate}, deaths ${f.deathsPerInstanceHour}/h, boot failures ${f.bootFailureRate}, cold starts ${f.coldStartsPerHour}/h`);
  }
  parts.push(`seed ${model.seed}`);
  return parts.join(', ');
}

function formatSweep(outcome: SweepOutcome): string {
  const columns = [
    { title: 'setting', value: (p: SweepPoint) => label(p), right: false },
    { title: 'mean wait s', value: (p: SweepPoint) => p.wait.toFixed(1) },
    { title: 'p95 wait s', value: (p: SweepPoint) => p.waitP95.toFixed(0) },
    { title: 'instance-hours', value: (p: SweepPoint) => p.cost.toFixed(2) },
    { title: 'queue-hours', value: (p: SweepPoint) => p.waitHours.toFixed(2) },
    { title: 'calls/h', value: (p: SweepPoint) => p.callsPerHour.toFixed(0) },
  ];
  const r = outcome.recommended;
  return [
    `Pareto front (${outcome.front.length} of ${outcome.points.length} settings; wait = mean over traces of the mean queue wait, ` +
      'p95 = mean over traces of the p95, cost = total instance-hours):',
    table(outcome.front, columns),
    '',
    `recommended (minimises instance-hours + ${outcome.waitPrice} x queue-hours): ${label(r)}`,
    `  mean wait ${r.wait.toFixed(1)} s, p95 ${r.waitP95.toFixed(0)} s, ${r.cost.toFixed(2)} instance-hours, ${r.waitHours.toFixed(2)} queue-hours`,
    ...r.perTrace.map((t) => `  ${t.trace}: mean ${t.mean.toFixed(1)} s, p95 ${t.p95.toFixed(0)} s, ${t.instanceHours.toFixed(2)} instance-hours`),
  ].join('\n');
}

export async function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  let config: CliConfig | 'help';
  try {
    config = buildConfig(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`cdk-ec2-workerpool-sim: ${error.message}\nTry --help.\n`);
      return 2;
    }
    throw error;
  }
  if (config === 'help') {
    out(USAGE);
    return 0;
  }
  const values = config.values;

  if (values.sweep) {
    const grid = {
      pollIntervals: values['sweep-poll'] ? usage('--sweep-poll', () => parseNumberList(values['sweep-poll']!, '--sweep-poll')) : DEFAULT_GRID.pollIntervals,
      delays: values['sweep-delay'] ? usage('--sweep-delay', () => parseDelayList(values['sweep-delay']!)) : DEFAULT_GRID.delays,
      maxTerminate: values['sweep-max-terminate']
        ? usage('--sweep-max-terminate', () => parseNumberList(values['sweep-max-terminate']!, '--sweep-max-terminate'))
        : DEFAULT_GRID.maxTerminate,
    };
    const total = grid.pollIntervals.length * grid.delays.length * grid.maxTerminate.length;
    process.stderr.write(`sweeping ${total} settings over ${config.traces.length} traces...\n`);
    const outcome = await sweep(config.traces, config.model, {
      base: { ...config.ours, phaseSeconds: config.phaseSeconds },
      grid,
      waitPrice: num(values, 'wait-price', 1),
    });
    if (values.json) out(`${JSON.stringify({ model: modelSummary(config.model), ...outcome }, null, 2)}\n`);
    else out(`${formatSweep(outcome)}\n`);
    return 0;
  }

  const results = await runComparison(config);
  if (values.json) {
    out(`${JSON.stringify({ model: modelSummary(config.model), results: results.map((r) => resultJson(r, values.timeline)) }, null, 2)}\n`);
  } else {
    out(`model: ${modelSummary(config.model)}\n\n${formatResults(results)}\n`);
  }
  if (values.svg !== undefined) {
    const many = config.traces.length > 1;
    for (const trace of config.traces) {
      const path = svgPath(values.svg, trace.name, many);
      const svg = renderChart(results.filter((r) => r.trace === trace.name), {
        title: `Trace "${trace.name}": ${trace.runs.length} runs`,
        subtitle: modelSummary(config.model),
      });
      writeFileSync(path, svg);
      process.stderr.write(`wrote ${path}\n`);
    }
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`cdk-ec2-workerpool-sim: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
