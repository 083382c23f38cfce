/** Trace parsing, distributions, policy specs, sweep helpers and the CLI's argument handling. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartAvailable, renderChart, stepPoints } from '../../bench/sim/chart';
import { buildConfig, main, svgPath, UsageError } from '../../bench/sim/cli';
import { simulate, type SimResult } from '../../bench/sim/engine';
import { DEFAULT_MODEL, meanOf, minimumOf, parseDistribution, sample } from '../../bench/sim/model';
import { DEFAULT_POLICY_DEFAULTS, parsePolicy, splitPolicyList } from '../../bench/sim/policies/spec';
import { paretoFront, recommend } from '../../bench/sim/sweep';
import { earliestStarts, formatTrace, parseTrace, TraceError } from '../../bench/sim/trace';

describe('trace CSV', () => {
  test('reads submit_s and duration_s in any order, ignores other columns and comments, sorts by submit time', () => {
    const trace = parseTrace('# a comment\n\nkind,duration_s,submit_s\nplan,30,20\napply,10,5\n', 'x.csv');
    expect(trace.runs).toEqual([
      { id: 0, submit: 5, duration: 10 },
      { id: 1, submit: 20, duration: 30 },
    ]);
  });

  test.each([
    ['submit,duration\n1,2', 'x.csv:1: header must name the columns submit_s and duration_s'],
    ['submit_s,duration_s\n1,2\n3', 'x.csv:3: expected 2 columns like the header on line 1, got 1'],
    ['submit_s,duration_s\n1,abc', 'x.csv:2: duration_s "abc" is not a number'],
    ['submit_s,duration_s\n-1,2', 'x.csv:2: submit_s must be >= 0, got -1'],
    ['submit_s,duration_s\n1,-2', 'x.csv:2: duration_s must be >= 0, got -2'],
    ['# only a comment\n', 'x.csv: empty trace (no header line)'],
    ['submit_s,duration_s,id,after\n1,2,a,\n1,2,b,zz', 'x.csv:3: after "zz" names no earlier row\'s id'],
    ['submit_s,duration_s,id,after\n1,2,a,\n1,2,a,', 'x.csv:3: id "a" is used twice'],
    ['submit_s,duration_s,after\n1,2,', 'x.csv:1: an "after" column needs an "id" column'],
  ])('rejects %j naming the line', (text, message) => {
    expect(() => parseTrace(text, 'x.csv')).toThrow(TraceError);
    expect(() => parseTrace(text, 'x.csv')).toThrow(message);
  });

  test('chains: dependants follow their parents; earliest starts add up along the chain', () => {
    const trace = parseTrace('submit_s,duration_s,id,after\n100,50,root,\n10,20,child,root\n5,1,grandchild,child\n0,7,other,', 'c.csv');
    expect(trace.runs.map((r) => [r.submit, r.after])).toEqual([[0, undefined], [100, undefined], [10, 1], [5, 2]]);
    expect(earliestStarts(trace)).toEqual([0, 100, 160, 185]);
  });

  test('formatTrace writes what parseTrace reads', () => {
    const text = formatTrace([{ submit: 1.25, duration: 3, kind: 'plan' }, { submit: 0, duration: 9.99, kind: 'apply' }], 'note');
    expect(text.startsWith('# note\nsubmit_s,duration_s,kind\n')).toBe(true);
    expect(parseTrace(text, 't').runs.map((r) => [r.submit, r.duration])).toEqual([[0, 10], [1.3, 3]]);
  });
});

describe('distributions', () => {
  test('fixed, uniform and empirical', () => {
    expect(parseDistribution('90')).toEqual({ kind: 'fixed', value: 90 });
    expect(parseDistribution('fixed:75.5')).toEqual({ kind: 'fixed', value: 75.5 });
    const uniform = parseDistribution('uniform:60-180');
    expect(sample(uniform, 0)).toBe(60);
    expect(sample(uniform, 0.5)).toBe(120);
    expect(minimumOf(uniform)).toBe(60);
    const empirical = parseDistribution('empirical:80,100,150');
    expect(sample(empirical, 0.99)).toBe(150);
    expect(sample(empirical, 0)).toBe(80);
    expect(meanOf(empirical)).toBe(110);
  });

  test.each(['uniform:90', 'uniform:100-50', 'normal:3', 'fixed:-1', 'empirical:1,,2', ''])('rejects %j', (text) => {
    expect(() => parseDistribution(text)).toThrow(/distribution/);
  });
});

describe('policy specs', () => {
  test('a comma starts a new spec only before a policy name', () => {
    expect(splitPolicyList('ours,ours:delay=breakEven:min=30,max=600/maxTerminate=5,spacelift-v2-tuned')).toEqual([
      'ours',
      'ours:delay=breakEven:min=30,max=600/maxTerminate=5',
      'spacelift-v2-tuned',
    ]);
  });

  test('overrides and labels', () => {
    const ours = parsePolicy('ours:poll=10/delay=fixed:60/maxTerminate=2');
    expect(ours.label).toBe('ours (poll=10 delay=fixed:60 maxTerminate=2)');
    expect(ours.settings).toContain('poll 10s');
    expect(ours.settings).toContain('delay fixed:60');
    const tuned = parsePolicy('spacelift-v2-tuned', { ...DEFAULT_POLICY_DEFAULTS, maxSize: 7 });
    expect(tuned.settings).toContain('MAX_CREATE 7, MAX_KILL 7');
    expect(parsePolicy('spacelift-v2:create=3/version=2.7/label=mine').label).toBe('mine');
    expect(parsePolicy('ours:reclaim=300').settings).toContain('drainedReclaim 300s');
    expect(parsePolicy('ours').settings).not.toContain('drainedReclaim');
  });

  test.each([
    ['nope', /unknown policy "nope"/],
    ['ours:speed=3', /unknown option "speed" for ours/],
    ['ours:reclaim=-1', /reclaim must be an integer >= 0/],
    ['ours:poll', /not key=value/],
    ['ours:delay=sometimes', /scale-down delay/],
    ['spacelift-v2:version=3', /version must be 2.7 or 2.8/],
    ['spacelift-v2:create=0', /create must be an integer >= 1/],
  ])('rejects %j', (spec, message) => {
    expect(() => parsePolicy(spec)).toThrow(message);
  });
});

describe('sweep helpers', () => {
  const points = [
    { name: 'a', wait: 10, cost: 9, waitHours: 1 },
    { name: 'b', wait: 20, cost: 5, waitHours: 2 },
    { name: 'c', wait: 30, cost: 6, waitHours: 3 },
    { name: 'd', wait: 40, cost: 1, waitHours: 4 },
  ];

  test('the Pareto front drops dominated points', () => {
    expect(paretoFront(points).map((p) => p.name)).toEqual(['a', 'b', 'd']);
  });

  test('recommend minimises cost + price x queue-hours', () => {
    expect(recommend(points, 1).name).toBe('d');
    expect(recommend(points, 10).name).toBe('a');
  });
});

describe('chart', () => {
  const result = (timeline: SimResult['timeline'], endTime: number) => ({ timeline, endTime }) as unknown as SimResult;

  test('step points are in minutes and end at the end of the simulation', () => {
    const points = stepPoints(result([{ t: 0, queued: 0, busy: 0, instances: 0, desired: 0 }, { t: 60, queued: 2, busy: 1, instances: 1, desired: 1 }], 120), 'queued');
    expect(points).toEqual([[0, 0], [1, 2], [2, 2]]);
  });

  test('long timelines are binned keeping each bin\'s peak', () => {
    const timeline = Array.from({ length: 1000 }, (_, i) => ({ t: i, queued: i === 501 ? 50 : 1, busy: 0, instances: 0, desired: 0 }));
    const points = stepPoints(result(timeline, 1000), 'queued', 10);
    expect(points).toHaveLength(11);
    expect(Math.max(...points.map((p) => p[1]))).toBe(50);
  });

  (chartAvailable() ? test : test.skip)('renders an SVG naming every policy (needs echarts)', async () => {
    const trace = parseTrace('submit_s,duration_s\n0,100\n5,100', 't');
    const model = { ...DEFAULT_MODEL, maxSize: 3 };
    const results = [await simulate(trace, parsePolicy('ours'), model), await simulate(trace, parsePolicy('spacelift-v2'), model)];
    const svg = renderChart(results, { title: 'T' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('spacelift-v2');
    expect(svg).toContain('Queued runs');
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  const tracePath = join(dir, 'runs.csv');
  writeFileSync(tracePath, 'submit_s,duration_s\n0,120\n10,60\n');

  test('--help', async () => {
    let out = '';
    expect(await main(['--help'], (t) => (out += t))).toBe(0);
    expect(out).toContain('Usage: cdk-ec2-workerpool-sim --trace runs.csv');
  });

  test.each([
    [[], /--trace is required/],
    [['--trace', tracePath, '--max', 'x'], /--max must be an integer/],
    [['--trace', tracePath, '--min', '5', '--max', '2'], /--min 5 is above --max 2/],
    [['--trace', tracePath, '--boot', 'gauss:3'], /--boot: distribution/],
    [['--trace', tracePath, '--bogus'], /Unknown option/],
    [['--trace', join(dir, 'missing.csv')], /cannot read trace/],
    [['--trace', tracePath, '--warm-pool', 'lots'], /--warm-pool must be SIZE or SIZE:RESUME_SECONDS/],
    [['--trace', tracePath, '--stopped-cost-ratio', '0.3'], /--stopped-cost-ratio needs --warm-pool/],
    [['--trace', tracePath, '--warm-pool', '2', '--stopped-cost-ratio', 'x'], /--stopped-cost-ratio must be a number/],
  ])('usage error for %j', (argv, message) => {
    expect(() => buildConfig(argv as string[])).toThrow(UsageError);
    expect(() => buildConfig(argv as string[])).toThrow(message);
  });

  test('--warm-pool defaults to a 30 s warm start and the 0.21 stopped cost ratio; both can be given', () => {
    const model = (argv: string[]) => (buildConfig(['--trace', tracePath, ...argv]) as Exclude<ReturnType<typeof buildConfig>, 'help'>).model;
    expect(model([]).warmPool).toBeUndefined();
    expect(model(['--warm-pool', '2']).warmPool).toEqual({ size: 2, resumeSeconds: 30, stoppedCostRatio: 0.21 });
    expect(model(['--warm-pool', '3:12.5', '--stopped-cost-ratio', '0.4']).warmPool).toEqual({ size: 3, resumeSeconds: 12.5, stoppedCostRatio: 0.4 });
  });

  test('--json prints one result per policy and trace', async () => {
    let out = '';
    const code = await main(['--trace', tracePath, '--policy', 'ours,spacelift-v2-tuned', '--max', '4', '--json'], (t) => (out += t));
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { results: { policy: string; runs: number; busyTerminated: number }[] };
    expect(parsed.results.map((r) => r.policy)).toEqual(['ours', 'spacelift-v2 (4/4)']);
    expect(parsed.results.every((r) => r.runs === 2 && r.busyTerminated === 0)).toBe(true);
  });

  test('the table names every policy and its settings', async () => {
    let out = '';
    await main(['--trace', tracePath, '--scale-down-delay', 'fixed:60', '--poll', '10'], (t) => (out += t));
    expect(out).toContain('ours: poll 10s (needed) every 60s, delay fixed:60');
    expect(out).toContain('spacelift-v2: v2.8, MAX_CREATE 1, MAX_KILL 1');
  });

  test('--sweep prints a front and a recommendation', async () => {
    let out = '';
    const code = await main(
      ['--trace', tracePath, '--sweep', '--sweep-poll', '15', '--sweep-delay', 'fixed:0;fixed:60', '--sweep-max-terminate', '1'],
      (t) => (out += t),
    );
    expect(code).toBe(0);
    expect(out).toContain('Pareto front');
    expect(out).toMatch(/recommended \(minimises instance-hours \+ 1 x queue-hours\): poll=15\/delay=fixed:(0|60)\/maxTerminate=1/);
  });

  (chartAvailable() ? test : test.skip)('--svg writes a chart (needs echarts)', async () => {
    const svg = join(dir, 'out.svg');
    await main(['--trace', tracePath, '--svg', svg], () => undefined);
    expect(readFileSync(svg, 'utf8')).toContain('<svg');
  });

  test('svg names get the trace name when there are several traces', () => {
    expect(svgPath('out.svg', 'burst', false)).toBe('out.svg');
    expect(svgPath('out.svg', 'burst', true)).toBe('out-burst.svg');
    expect(svgPath('charts/out', 'burst', true)).toBe('charts/out-burst.svg');
  });
});
