/** One structured log call. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** Stands in for a Powertools Logger in handler tests and keeps every call. */
export class RecordingLogger {
  readonly entries: LogEntry[] = [];
  debug = this.record('debug');
  info = this.record('info');
  warn = this.record('warn');
  error = this.record('error');

  at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((e) => e.level === level);
  }

  messages(level?: LogEntry['level']): string[] {
    return (level === undefined ? this.entries : this.at(level)).map((e) => e.message);
  }

  private record(level: LogEntry['level']) {
    return (message: unknown, ...extra: unknown[]): void => {
      this.entries.push({ level, message: String(message), attributes: Object.assign({}, ...extra) });
    };
  }
}
