/**
 * Spacelift's usage export as a trace, so users can replay their own history:
 *
 *   spacectl profile usage-csv --aspect run-minutes --since 2026-11-02 --until 2026-11-03 > usage.csv
 *
 * spacectl downloads the CSV from `GET /usageanalytics/csv?aspect=run-minutes&since=&until=&groupBy=`
 * (spacelift-io/spacectl internal/cmd/profile/usage_view_csv_command.go). Its columns, in this order, are
 * documented with Spacelift's own PostgreSQL import example (docs.spacelift.io/product/billing/usage):
 *
 *   timestamp_unix, state_duration_minutes, public, run_state, run_type, run_ulid, stack_name,
 *   stack_slug, stack_ulid, is_stack, worker_pool_name, worker_pool_ulid
 *
 * Each row is time a run spent in one state. Columns are found by name (any order; others ignored),
 * fields may be quoted (stack names are free text). The mapping to trace runs:
 *
 * - A worker is held through a streak of consecutive worker states (WORKER_STATES). A run holds one
 *   for its plan and, when a human confirms it, again for its apply: Spacelift's worker hands the
 *   run back at UNCONFIRMED and a worker picks it up again after CONFIRMED. Each streak is one trace
 *   run whose duration_s is the sum of its rows' state_duration_minutes (the worker-time).
 * - submit_s is when the run became ready for a worker: the start of the READY (or CONFIRMED,
 *   REPLAN_REQUESTED) rows right before the streak. QUEUED is not counted: a run is QUEUED while it
 *   is not yet eligible (a stack lock, a dependency), which no autoscaler can shorten. Without such
 *   rows (the export leaves out zero values) the streak's start is used.
 * - A later streak of the same run (the apply) is chained to the earlier one: it is queued as many
 *   seconds after the earlier streak ends as the human took, so its queue time depends on the policy.
 * - First streaks count from the earliest of them, so the trace starts with its first run.
 * - Rows on the public worker pool (`public` true) are skipped; of the private pools, the one named
 *   (by worker_pool_name or worker_pool_ulid) is kept, and an export with several needs a name.
 * - Runs that never held a worker (canceled, skipped, discarded while queued) are left out.
 *
 * Spacelift does not document whether timestamp_unix is when the run entered the state or left it.
 * Both are tried: the reading under which each row of a run ends when its next row starts fits
 * better and is used (entered, when nothing tells them apart).
 */
import { buildTrace, parseTrace, readTraceFile, TraceError, traceName, type Trace, type TraceRow } from './trace';

// The 20 run states, as listed by terraform-provider-spacelift (spacelift/resource_task.go, `continue_on_state`).
// An unknown state is an error rather than a guess.

/** States in which a worker is busy with the run. */
export const WORKER_STATES: readonly string[] = [
  'PREPARING',
  'PREPARING_APPLY',
  'PREPARING_REPLAN',
  'INITIALIZING',
  'PLANNING',
  'APPLYING',
  'PERFORMING',
  'DESTROYING',
];
/** States in which the run is eligible and waits for a worker: the autoscaler's queue. */
export const WAITING_STATES: readonly string[] = ['READY', 'CONFIRMED', 'REPLAN_REQUESTED'];
/** States without a worker that no autoscaler can shorten (not eligible yet, waiting for a human, or ended). */
export const OTHER_STATES: readonly string[] = [
  'QUEUED',
  'PENDING_REVIEW',
  'UNCONFIRMED',
  'FINISHED',
  'FAILED',
  'STOPPED',
  'CANCELED',
  'DISCARDED',
  'SKIPPED',
];

const REQUIRED = ['timestamp_unix', 'state_duration_minutes', 'run_state', 'run_ulid', 'worker_pool_name'] as const;

export interface UsageCsvOptions {
  /** Keep the runs of this worker pool (its name or ULID in the export). Needed when the export has several private pools. */
  readonly workerPool?: string;
}

/** A trace read from a usage export, with what was inferred about it. */
export interface UsageTrace extends Trace {
  /** The worker pool whose runs were kept. */
  readonly pool: string;
  /** How timestamp_unix was read: when the run entered the state, or when it left it. */
  readonly timestamps: 'entered' | 'left';
}

interface CsvRecord {
  readonly cells: string[];
  /** 1-based line on which the record starts. */
  readonly line: number;
}

/**
 * RFC 4180 records: fields separated by commas, optionally in double quotes, inside which commas,
 * line breaks and doubled quotes ("") are literal. Blank lines are skipped.
 */
export function parseCsvRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  const endRecord = () => {
    if (fieldStarted || cells.length > 0 || cell !== '') {
      cells.push(cell);
      records.push({ cells, line: recordLine });
    }
    cells = [];
    cell = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"') {
      if (cell.trim() !== '') throw new TraceError(`${source}:${line}: a quote inside an unquoted field (quote the whole field)`);
      cell = '';
      quoted = true;
      fieldStarted = true;
      quoteLine = line;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      cell += c;
    }
  }
  if (quoted) throw new TraceError(`${source}:${quoteLine}: a quoted field is never closed`);
  endRecord();
  return records.map((record) => ({ ...record, cells: record.cells.map((value) => value.trim()) }));
}

/** True when the text's header is one of Spacelift's usage exports (any aspect). */
export function isUsageCsv(text: string): boolean {
  const header = text.split(/\r?\n/, 1)[0].toLowerCase();
  return /(^|,)\s*"?timestamp_unix"?\s*(,|$)/.test(header);
}

function parseBoolean(text: string, column: string, where: string): boolean {
  const value = text.toLowerCase();
  if (['true', 't', '1', 'yes'].includes(value)) return true;
  if (['false', 'f', '0', 'no', ''].includes(value)) return false;
  throw new TraceError(`${where}: ${column} "${text}" is not a boolean`);
}

function parseNumber(text: string, column: string, where: string): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw new TraceError(`${where}: ${column} "${text}" is not a number`);
  return value;
}

interface StateRow {
  readonly run: string;
  readonly state: string;
  readonly timestamp: number;
  readonly seconds: number;
  readonly order: number;
  readonly where: string;
}

/** Parses a run-minutes usage export; `source` names the file in error messages. */
export function parseUsageCsv(text: string, source: string, options: UsageCsvOptions = {}): UsageTrace {
  const [header, ...records] = parseCsvRecords(text, source);
  if (header === undefined) throw new TraceError(`${source}: empty usage export (no header line)`);
  const columns = header.cells.map((cell) => cell.toLowerCase());
  const where = (line: number) => `${source}:${line}`;
  if (!columns.includes('run_ulid') && columns.includes('count')) {
    throw new TraceError(
      `${where(header.line)}: this is the worker-count export; a trace needs the per-run one ` +
        '(spacectl profile usage-csv --aspect run-minutes)',
    );
  }
  for (const column of REQUIRED) {
    if (!columns.includes(column)) {
      throw new TraceError(`${where(header.line)}: a usage export needs the columns ${REQUIRED.join(', ')}; "${column}" is missing`);
    }
  }
  const at = (cells: string[], column: string) => (columns.includes(column) ? cells[columns.indexOf(column)] : '');

  // Rows of private pools, grouped by pool.
  const byPool = new Map<string, { ulid: string; rows: StateRow[] }>();
  records.forEach((record, order) => {
    const here = where(record.line);
    if (record.cells.length !== columns.length) {
      throw new TraceError(`${here}: expected ${columns.length} columns like the header on line ${header.line}, got ${record.cells.length}`);
    }
    const state = at(record.cells, 'run_state').toUpperCase();
    if (![...WORKER_STATES, ...WAITING_STATES, ...OTHER_STATES].includes(state)) {
      throw new TraceError(`${here}: unknown run_state "${state}" (known: ${[...WORKER_STATES, ...WAITING_STATES, ...OTHER_STATES].join(', ')})`);
    }
    const timestamp = parseNumber(at(record.cells, 'timestamp_unix'), 'timestamp_unix', here);
    const minutes = parseNumber(at(record.cells, 'state_duration_minutes'), 'state_duration_minutes', here);
    if (minutes < 0) throw new TraceError(`${here}: state_duration_minutes must be >= 0, got ${minutes}`);
    const run = at(record.cells, 'run_ulid');
    if (run === '') throw new TraceError(`${here}: run_ulid is empty`);
    if (parseBoolean(at(record.cells, 'public'), 'public', here)) return;
    const pool = at(record.cells, 'worker_pool_name');
    const entry = byPool.get(pool) ?? { ulid: at(record.cells, 'worker_pool_ulid'), rows: [] };
    entry.rows.push({ run, state, timestamp, seconds: minutes * 60, order, where: here });
    byPool.set(pool, entry);
  });

  const pools = [...byPool.keys()];
  const list = pools.map((name) => `"${name}"`).join(', ');
  let pool: string;
  if (options.workerPool !== undefined) {
    const match = pools.find((name) => name === options.workerPool || byPool.get(name)!.ulid === options.workerPool);
    if (match === undefined) {
      throw new TraceError(`${source}: no runs on worker pool "${options.workerPool}" (private pools in the export: ${list || 'none'})`);
    }
    pool = match;
  } else if (pools.length === 1) {
    pool = pools[0];
  } else if (pools.length === 0) {
    throw new TraceError(`${source}: no runs on a private worker pool (rows with public=true are Spacelift's public workers)`);
  } else {
    throw new TraceError(`${source}: runs from ${pools.length} private worker pools (${list}); choose one with --worker-pool`);
  }

  const runs = new Map<string, StateRow[]>();
  for (const row of byPool.get(pool)!.rows) {
    const rows = runs.get(row.run) ?? [];
    rows.push(row);
    runs.set(row.run, rows);
  }
  for (const rows of runs.values()) rows.sort((a, b) => a.timestamp - b.timestamp || a.order - b.order);
  const timestamps = timestampReading([...runs.values()]);

  // Worker streaks per run: absolute submit (ready) time, start, worker-seconds and end.
  const streaks: { run: string; index: number; ready: number; end: number; seconds: number; where: string }[] = [];
  for (const [run, rows] of runs) {
    let waitingSince: number | undefined;
    let open: (typeof streaks)[number] | undefined;
    let index = 0;
    for (const row of rows) {
      const start = timestamps === 'entered' ? row.timestamp : row.timestamp - row.seconds;
      if (WORKER_STATES.includes(row.state)) {
        if (open === undefined) {
          open = { run, index: index++, ready: waitingSince ?? start, end: start, seconds: 0, where: row.where };
          streaks.push(open);
        }
        open.seconds += row.seconds;
        open.end = start + row.seconds;
        waitingSince = undefined;
      } else {
        open = undefined;
        waitingSince = WAITING_STATES.includes(row.state) ? (waitingSince ?? start) : undefined;
      }
    }
  }
  if (streaks.length === 0) throw new TraceError(`${source}: no run on worker pool "${pool}" ever held a worker`);

  const origin = Math.min(...streaks.filter((s) => s.index === 0).map((s) => s.ready));
  const key = (run: string, index: number) => `${run}#${index}`;
  const previous = new Map<string, (typeof streaks)[number]>();
  const rows: TraceRow[] = streaks.map((streak) => {
    const before = previous.get(streak.run);
    previous.set(streak.run, streak);
    return {
      submit: before === undefined ? streak.ready - origin : Math.max(0, streak.ready - before.end),
      duration: streak.seconds,
      key: key(streak.run, streak.index),
      ...(before === undefined ? {} : { after: key(before.run, before.index) }),
      where: streak.where,
    };
  });
  return { ...buildTrace(source, rows), pool, timestamps };
}

/**
 * Whether timestamp_unix is when a run entered each state or left it: under the right reading, each
 * row of a run ends where the next begins (entered: t[i] + d[i] = t[i+1]; left: t[i] + d[i+1] = t[i+1]).
 */
function timestampReading(runs: readonly (readonly StateRow[])[]): 'entered' | 'left' {
  let entered = 0;
  let left = 0;
  for (const rows of runs) {
    for (let i = 0; i + 1 < rows.length; i++) {
      const gap = rows[i + 1].timestamp - rows[i].timestamp;
      entered += Math.abs(gap - rows[i].seconds);
      left += Math.abs(gap - rows[i + 1].seconds);
    }
  }
  return left < entered ? 'left' : 'entered';
}

/**
 * Loads a trace file of either format: Spacelift's usage export (detected by its `timestamp_unix`
 * header) or the simulator's own CSV (see trace.ts).
 */
export function loadTraceFile(path: string, options: UsageCsvOptions = {}): Trace {
  const text = readTraceFile(path);
  if (isUsageCsv(text)) return { ...parseUsageCsv(text, path, options), name: traceName(path) };
  if (options.workerPool !== undefined) {
    throw new TraceError(`${path}: a worker pool was named, but this is not a Spacelift usage export (no timestamp_unix column)`);
  }
  return { ...parseTrace(text, path), name: traceName(path) };
}
