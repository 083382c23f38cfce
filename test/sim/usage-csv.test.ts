/** Spacelift's usage export (run-minutes aspect) as a simulator trace. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, main, UsageError } from '../../bench/sim/cli';
import { TraceError } from '../../bench/sim/trace';
import { isUsageCsv, loadTraceFile, parseCsvRecords, parseUsageCsv } from '../../bench/sim/usage-csv';

const HEADER =
  'timestamp_unix,state_duration_minutes,public,run_state,run_type,run_ulid,stack_name,stack_slug,stack_ulid,is_stack,worker_pool_name,worker_pool_ulid';

/** [timestamp the run entered the state, minutes, public, state, run, stack name (free text), pool] */
type Row = [number, number, boolean, string, string, string, string];
const PROD = 'prod-pool';
const DEV = 'dev, eu';
const ROWS: Row[] = [
  // B: tracked run with a manual confirmation: QUEUED (stack locked), READY, plan, UNCONFIRMED, CONFIRMED, apply.
  [900, 1, false, 'QUEUED', 'B', 'network "core", eu', PROD],
  [960, 1, false, 'READY', 'B', 'network "core", eu', PROD],
  [1020, 0.5, false, 'PREPARING', 'B', 'network "core", eu', PROD],
  [1050, 3, false, 'PLANNING', 'B', 'network "core", eu', PROD],
  [1230, 10, false, 'UNCONFIRMED', 'B', 'network "core", eu', PROD],
  [1830, 0.5, false, 'CONFIRMED', 'B', 'network "core", eu', PROD],
  [1860, 0.5, false, 'PREPARING_APPLY', 'B', 'network "core", eu', PROD],
  [1890, 5, false, 'APPLYING', 'B', 'network "core", eu', PROD],
  // A: proposed run.
  [1000, 0.5, false, 'READY', 'A', 'app\nmulti-line', PROD],
  [1030, 0.25, false, 'PREPARING', 'A', 'app\nmulti-line', PROD],
  [1045, 0.75, false, 'INITIALIZING', 'A', 'app\nmulti-line', PROD],
  [1090, 2, false, 'PLANNING', 'A', 'app\nmulti-line', PROD],
  // C: canceled while queued: never held a worker.
  [1100, 2, false, 'QUEUED', 'C', 'c', PROD],
  // D: on Spacelift's public workers.
  [1200, 4, true, 'PLANNING', 'D', 'd', ''],
  // E: another private pool.
  [500, 1, false, 'READY', 'E', 'e', DEV],
  [560, 1, false, 'PLANNING', 'E', 'e', DEV],
  // F: a task picked up at once (no READY row: the export leaves out zero durations).
  [2000, 0.5, false, 'PREPARING', 'F', 'f', PROD],
  [2030, 1, false, 'PERFORMING', 'F', 'f', PROD],
];

const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
function usageCsv(rows: readonly Row[], timestamp: (row: Row) => number = (row) => row[0]): string {
  const lines = rows.map((row) => {
    const [, minutes, isPublic, state, run, stack, pool] = row;
    const poolUlid = pool === PROD ? '01PRODPOOL' : pool === DEV ? '01DEVPOOL' : '';
    return [timestamp(row), minutes, isPublic, state, 'PROPOSED', `01RUN${run}`, quote(stack), 'slug', '01STACK', true, quote(pool), poolUlid].join(',');
  });
  return `${HEADER}\r\n${lines.join('\r\n')}\r\n`;
}

// B's plan at 0 (the earliest ready time, 960) for 30 + 180 s; A ready 40 s later for 15 + 45 + 120 s; F at 2000 - 960
// for 30 + 60 s; B's apply chained to its plan, ready 600 s after the plan ended (1230 -> 1830) for 30 + 300 s.
const EXPECTED = [
  { id: 0, submit: 0, duration: 210 },
  { id: 1, submit: 40, duration: 180 },
  { id: 2, submit: 1040, duration: 90 },
  { id: 3, submit: 600, duration: 330, after: 0 },
];

describe('usage export (run-minutes)', () => {
  test('maps worker streaks to runs: submit when READY, duration the worker states, the apply chained to the plan', () => {
    const trace = parseUsageCsv(usageCsv(ROWS), 'usage.csv', { workerPool: PROD });
    expect(trace.runs).toEqual(EXPECTED);
    expect(trace.pool).toBe(PROD);
    expect(trace.timestamps).toBe('entered');
  });

  test('a pool can be named by its ULID; quoted names with commas select their own runs', () => {
    expect(parseUsageCsv(usageCsv(ROWS), 'u.csv', { workerPool: '01PRODPOOL' }).runs).toEqual(EXPECTED);
    expect(parseUsageCsv(usageCsv(ROWS), 'u.csv', { workerPool: DEV }).runs).toEqual([{ id: 0, submit: 0, duration: 60 }]);
  });

  test('the only private pool needs no name', () => {
    const trace = parseUsageCsv(usageCsv(ROWS.filter((row) => row[6] !== DEV)), 'u.csv');
    expect(trace.runs).toEqual(EXPECTED);
  });

  test('timestamps marking when a run left each state are recognised and give the same trace', () => {
    const trace = parseUsageCsv(usageCsv(ROWS, (row) => row[0] + row[1] * 60), 'u.csv', { workerPool: PROD });
    expect(trace.timestamps).toBe('left');
    expect(trace.runs).toEqual(EXPECTED);
  });

  test('CSV records: quoted commas, doubled quotes and line breaks; each record knows its first line', () => {
    const records = parseCsvRecords('a,b\n"x, ""y""","two\nlines"\n\n3,\n', 'q.csv');
    expect(records).toEqual([
      { cells: ['a', 'b'], line: 1 },
      { cells: ['x, "y"', 'two\nlines'], line: 2 },
      { cells: ['3', ''], line: 5 },
    ]);
  });

  const row = (cells: string) => `${HEADER}\n${cells}`;
  test.each([
    [usageCsv(ROWS), {}, 'u.csv: runs from 2 private worker pools ("prod-pool", "dev, eu"); choose one with --worker-pool'],
    [usageCsv(ROWS), { workerPool: 'staging' }, 'u.csv: no runs on worker pool "staging" (private pools in the export: "prod-pool", "dev, eu")'],
    [usageCsv(ROWS.filter((r) => r[2])), {}, 'u.csv: no runs on a private worker pool'],
    [usageCsv(ROWS.filter((r) => r[4] === 'C')), {}, 'u.csv: no run on worker pool "prod-pool" ever held a worker'],
    ['id,count,timestamp_unix,worker_pool_name\n1,3,1700000000,prod', {}, 'u.csv:1: this is the worker-count export'],
    ['timestamp_unix,run_ulid\n1,a', {}, 'u.csv:1: a usage export needs the columns timestamp_unix, state_duration_minutes'],
    [row('1,abc,false,READY,PROPOSED,01R,s,s,01S,true,p,01P'), {}, 'u.csv:2: state_duration_minutes "abc" is not a number'],
    [row('x,1,false,READY,PROPOSED,01R,s,s,01S,true,p,01P'), {}, 'u.csv:2: timestamp_unix "x" is not a number'],
    [row('1,-1,false,READY,PROPOSED,01R,s,s,01S,true,p,01P'), {}, 'u.csv:2: state_duration_minutes must be >= 0, got -1'],
    [row('1,1,maybe,READY,PROPOSED,01R,s,s,01S,true,p,01P'), {}, 'u.csv:2: public "maybe" is not a boolean'],
    [row('1,1,false,WAITING,PROPOSED,01R,s,s,01S,true,p,01P'), {}, 'u.csv:2: unknown run_state "WAITING"'],
    [row('1,1,false,READY,PROPOSED,,s,s,01S,true,p,01P'), {}, 'u.csv:2: run_ulid is empty'],
    // The stack name spans lines 2-3, so the short record after it is on line 4.
    [row('1,1,false,READY,PROPOSED,01R,"a\nb",s,01S,true,p,01P\n1,1,false'), {}, 'u.csv:4: expected 12 columns like the header on line 1, got 3'],
    [row('1,1,false,READY,PROPOSED,01R,"never closed'), {}, 'u.csv:2: a quoted field is never closed'],
    [row('1,1,false,READY,PROPOSED,01R,ab"c,s,01S,true,p,01P'), {}, 'u.csv:2: a quote inside an unquoted field'],
  ])('rejects bad input naming the file and line (%#)', (text, options, message) => {
    expect(() => parseUsageCsv(text, 'u.csv', options)).toThrow(TraceError);
    expect(() => parseUsageCsv(text, 'u.csv', options)).toThrow(message);
  });

  test('the format is told by the header', () => {
    expect(isUsageCsv(usageCsv(ROWS))).toBe(true);
    expect(isUsageCsv('"timestamp_unix","count"\n')).toBe(true);
    expect(isUsageCsv('submit_s,duration_s\n1,2')).toBe(false);
  });
});

describe('CLI with a usage export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-usage-'));
  const usagePath = join(dir, 'usage.csv');
  writeFileSync(usagePath, usageCsv(ROWS));
  const simplePath = join(dir, 'runs.csv');
  writeFileSync(simplePath, 'submit_s,duration_s\n0,60\n');

  test('--trace loads it, --worker-pool picks the pool; the trace is named after the file', () => {
    const config = buildConfig(['--trace', usagePath, '--worker-pool', PROD]);
    if (config === 'help') throw new Error('unexpected help');
    expect(config.traces.map((t) => [t.name, t.runs])).toEqual([['usage', EXPECTED]]);
    expect(loadTraceFile(simplePath).runs).toEqual([{ id: 0, submit: 0, duration: 60 }]);
  });

  test.each([
    [['--trace', usagePath], /--trace: .*usage.csv: runs from 2 private worker pools/],
    [['--trace', simplePath, '--worker-pool', PROD], /--trace: .*runs.csv: a worker pool was named, but this is not a Spacelift usage export/],
  ])('usage error for %j', (argv, message) => {
    expect(() => buildConfig(argv)).toThrow(UsageError);
    expect(() => buildConfig(argv)).toThrow(message);
  });

  test('replays it end to end', async () => {
    let out = '';
    expect(await main(['--trace', usagePath, '--worker-pool', PROD, '--policy', 'ours', '--max', '3', '--json'], (t) => (out += t))).toBe(0);
    const parsed = JSON.parse(out) as { results: { trace: string; runs: number; busyTerminated: number }[] };
    expect(parsed.results).toEqual([expect.objectContaining({ trace: 'usage', runs: 4, busyTerminated: 0 })]);
  });
});
