/**
 * Run traces: CSV with a header naming at least `submit_s` and `duration_s` (any order; other
 * columns are ignored). Times are seconds from the start of the trace. Blank lines and lines
 * starting with `#` are skipped. Every error names the source and the line.
 *
 * Optional dependency chains: with columns `id` and `after`, a row whose `after` names the `id` of
 * an earlier row is queued `submit_s` seconds after that run *finishes* (Spacelift triggers a
 * dependent stack's run when the run it depends on ends), so its submit time depends on the policy.
 * A parent killed mid-run counts as finished; a parent that never starts holds its chain back.
 *
 * Spacelift's usage export is read by usage-csv.ts into the same rows (`buildTrace`).
 */
import { readFileSync } from 'node:fs';

export interface TraceRun {
  /** 0-based position in the trace after sorting by submit time (ties keep file order). */
  readonly id: number;
  /** Seconds from trace start at which the run is queued; with `after`, seconds after the parent ends. */
  readonly submit: number;
  /** `id` of the run this one depends on, when it is part of a chain. */
  readonly after?: number;
  /** Seconds the run occupies a worker once it starts. */
  readonly duration: number;
}

export interface Trace {
  readonly name: string;
  readonly runs: readonly TraceRun[];
}

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

const REQUIRED = ['submit_s', 'duration_s'] as const;

function splitCsvLine(line: string): string[] {
  // The format has no quoting: values are numbers, extra columns are ignored. A quoted value
  // with a comma inside would shift the columns, which the number check below reports.
  return line.split(',').map((cell) => cell.trim());
}

function parseNumber(text: string, column: string, where: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new TraceError(`${where}: ${column} "${text}" is not a number`);
  }
  return Number(text);
}

/** A run as read from a file, before ordering; `where` (file:line) locates it in error messages. */
export interface TraceRow {
  readonly submit: number;
  readonly duration: number;
  /** The run's name for chains (`id` column). */
  readonly key?: string;
  /** `key` of an earlier row this run depends on. */
  readonly after?: string;
  readonly where: string;
}

/** Parses CSV text; `source` names the file in error messages. */
export function parseTrace(text: string, source: string): Trace {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  let headerLine = 0;
  const rows: TraceRow[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const where = `${source}:${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const cells = splitCsvLine(line);
    if (header === undefined) {
      header = cells.map((cell) => cell.toLowerCase());
      headerLine = index + 1;
      for (const column of REQUIRED) {
        if (!header.includes(column)) {
          throw new TraceError(`${where}: header must name the columns ${REQUIRED.join(' and ')}, got "${line}"`);
        }
      }
      if (header.includes('after') && !header.includes('id')) {
        throw new TraceError(`${where}: an "after" column needs an "id" column to refer to`);
      }
      return;
    }
    if (cells.length !== header.length) {
      throw new TraceError(`${where}: expected ${header.length} columns like the header on line ${headerLine}, got ${cells.length}`);
    }
    const submit = parseNumber(cells[header.indexOf('submit_s')], 'submit_s', where);
    const duration = parseNumber(cells[header.indexOf('duration_s')], 'duration_s', where);
    if (submit < 0) throw new TraceError(`${where}: submit_s must be >= 0, got ${submit}`);
    if (duration < 0) throw new TraceError(`${where}: duration_s must be >= 0, got ${duration}`);
    const key = header.includes('id') ? cells[header.indexOf('id')] : undefined;
    const after = header.includes('after') ? cells[header.indexOf('after')] : undefined;
    rows.push({ submit, duration, key: key || undefined, after: after || undefined, where });
  });
  if (header === undefined) throw new TraceError(`${source}: empty trace (no header line)`);
  return buildTrace(source, rows);
}

/**
 * Orders rows into a trace: independent runs by submit time (ties keep row order), then chained runs
 * in row order. A row's `after` must name an earlier row's `key` (which also rules out cycles).
 */
export function buildTrace(name: string, rows: readonly TraceRow[]): Trace {
  const seen = new Map<string, number>();
  rows.forEach((row, order) => {
    if (row.after !== undefined && !seen.has(row.after)) {
      throw new TraceError(`${row.where}: after "${row.after}" names no earlier row's id`);
    }
    if (row.key !== undefined) {
      if (seen.has(row.key)) throw new TraceError(`${row.where}: id "${row.key}" is used twice`);
      seen.set(row.key, order);
    }
  });
  const numbered = rows.map((row, order) => ({ ...row, order }));
  const independent = numbered.filter((row) => row.after === undefined).sort((a, b) => a.submit - b.submit || a.order - b.order);
  const chained = numbered.filter((row) => row.after !== undefined);
  const ordered = [...independent, ...chained];
  const idByOrder = new Map(ordered.map((row, id) => [row.order, id]));
  return {
    name,
    runs: ordered.map((row, id) => ({
      id,
      submit: row.submit,
      duration: row.duration,
      ...(row.after !== undefined ? { after: idByOrder.get(seen.get(row.after)!)! } : {}),
    })),
  };
}

/**
 * The earliest each run could start: at its submit time (but not before `notBefore`, when no worker can exist
 * sooner), or for a chained run when its parent would end if it started the moment it could. Used for the lower
 * bounds.
 */
export function earliestStarts(trace: Trace, notBefore = 0): number[] {
  const starts = new Array<number>(trace.runs.length);
  const byId = new Map(trace.runs.map((run) => [run.id, run]));
  const resolve = (run: TraceRun): number => {
    if (starts[run.id] !== undefined) return starts[run.id];
    const parent = run.after === undefined ? undefined : byId.get(run.after)!;
    const start = parent === undefined ? Math.max(run.submit, notBefore) : resolve(parent) + parent.duration + run.submit;
    starts[run.id] = start;
    return start;
  };
  for (const run of trace.runs) resolve(run);
  return starts;
}

/** The text of a trace file; a file that cannot be read is a TraceError naming it. */
export function readTraceFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TraceError(`${path}: cannot read trace (${(error as Error).message})`);
  }
}

/** A trace's name: its file name without the directory and `.csv`. */
export function traceName(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.csv$/i, '');
}

export function loadTrace(path: string): Trace {
  return { ...parseTrace(readTraceFile(path), path), name: traceName(path) };
}

/** CSV text for runs (`submit_s,duration_s[,kind][,id,after]`), seconds rounded to 0.1. */
export function formatTrace(
  runs: readonly { submit: number; duration: number; kind?: string; id?: string; after?: string }[],
  comment?: string,
): string {
  const withKind = runs.some((run) => run.kind !== undefined);
  const withChains = runs.some((run) => run.after !== undefined);
  const lines: string[] = [];
  if (comment !== undefined) for (const line of comment.split('\n')) lines.push(`# ${line}`);
  lines.push(['submit_s', 'duration_s', ...(withKind ? ['kind'] : []), ...(withChains ? ['id', 'after'] : [])].join(','));
  for (const run of runs) {
    const cells = [run.submit.toFixed(1), run.duration.toFixed(1)];
    if (withKind) cells.push(run.kind ?? '');
    if (withChains) cells.push(run.id ?? '', run.after ?? '');
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}
