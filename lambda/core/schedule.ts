/**
 * Scheduled minimum-idle floors ("keep 2 idle workers on weekdays 08:00-18:00 Berlin time").
 * Pure given `now`: local wall-clock time comes from `Intl.DateTimeFormat`, so daylight saving
 * time follows the IANA time-zone database bundled with Node.
 */

export interface ScheduleFloor {
  /** IANA time zone, e.g. `Europe/Berlin`. */
  readonly timezone: string;
  /** Days the window starts on: 1 = Monday ... 6 = Saturday; Sunday is 0 or 7 (as in cron). */
  readonly daysOfWeek: readonly number[];
  /** Local start time `HH:MM`, inclusive. */
  readonly start: string;
  /**
   * Local end time `HH:MM`, exclusive; `24:00` means midnight. An end earlier than the start
   * makes an overnight window that ends on the following day.
   */
  readonly end: string;
  /** Idle workers to keep while the window is open. */
  readonly minIdle: number;
}

const MINUTES_PER_DAY = 24 * 60;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Formatters are costly to build and immutable, so one per time zone is kept. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** Local weekday (0 = Sunday) and minute of the day at `now` (epoch seconds) in `timezone`. */
export function localTime(now: number, timezone: string): { weekday: number; minute: number } {
  const parts = formatterFor(timezone).formatToParts(new Date(now * 1000));
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return {
    weekday: WEEKDAYS.indexOf(part('weekday')),
    minute: Number(part('hour')) * 60 + Number(part('minute')),
  };
}

function parseClock(value: string, allowMidnightEnd: boolean): number | undefined {
  if (allowMidnightEnd && value === '24:00') return MINUTES_PER_DAY;
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Throws an Error naming the offending field (prefixed with `path`) when `floor` is not usable. */
export function validateScheduleFloor(floor: ScheduleFloor, path: string): void {
  if (typeof floor !== 'object' || floor === null) {
    throw new Error(`${path} must be an object`);
  }
  if (typeof floor.timezone !== 'string' || floor.timezone === '') {
    throw new Error(`${path}.timezone must be an IANA time zone name`);
  }
  try {
    formatterFor(floor.timezone);
  } catch {
    throw new Error(`${path}.timezone "${floor.timezone}" is not a known IANA time zone`);
  }
  if (!Array.isArray(floor.daysOfWeek) || floor.daysOfWeek.length === 0) {
    throw new Error(`${path}.daysOfWeek must be a non-empty list of days 0-7`);
  }
  for (const day of floor.daysOfWeek) {
    if (!isNonNegativeInteger(day) || day > 7) {
      throw new Error(`${path}.daysOfWeek must hold integers 0-7 (0 and 7 are Sunday), got ${JSON.stringify(day)}`);
    }
  }
  const start = typeof floor.start === 'string' ? parseClock(floor.start, false) : undefined;
  if (start === undefined) {
    throw new Error(`${path}.start must be HH:MM (00:00-23:59), got ${JSON.stringify(floor.start)}`);
  }
  const end = typeof floor.end === 'string' ? parseClock(floor.end, true) : undefined;
  if (end === undefined) {
    throw new Error(`${path}.end must be HH:MM (00:00-24:00), got ${JSON.stringify(floor.end)}`);
  }
  if (start === end) {
    throw new Error(`${path}.end must differ from start (use 00:00-24:00 for a whole day)`);
  }
  if (!isNonNegativeInteger(floor.minIdle)) {
    throw new Error(`${path}.minIdle must be an integer >= 0, got ${JSON.stringify(floor.minIdle)}`);
  }
}

/** Parses and validates a JSON list of floors, as the handler receives it from an env variable. */
export function parseSchedule(json: string): ScheduleFloor[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('schedule must be a JSON list of floors');
  }
  if (!Array.isArray(parsed)) {
    throw new Error('schedule must be a JSON list of floors');
  }
  parsed.forEach((floor, index) => validateScheduleFloor(floor as ScheduleFloor, `schedule[${index}]`));
  return parsed as ScheduleFloor[];
}

function coversDay(floor: ScheduleFloor, weekday: number): boolean {
  return floor.daysOfWeek.some((day) => day % 7 === weekday);
}

/** Whether the window is open at `now`. Assumes a validated floor. */
export function isFloorActive(floor: ScheduleFloor, now: number): boolean {
  const { weekday, minute } = localTime(now, floor.timezone);
  const start = parseClock(floor.start, false)!;
  const end = parseClock(floor.end, true)!;
  if (start < end) {
    return coversDay(floor, weekday) && minute >= start && minute < end;
  }
  // Overnight: the evening part belongs to today, the morning part to the window opened yesterday.
  return (coversDay(floor, weekday) && minute >= start) || (coversDay(floor, (weekday + 6) % 7) && minute < end);
}

export function describeFloor(floor: ScheduleFloor): string {
  return `${floor.timezone} days ${floor.daysOfWeek.join(',')} ${floor.start}-${floor.end}`;
}

/** The effective minimum idle: the largest of `baseMinIdle` and every floor open at `now`. */
export function effectiveMinIdle(
  baseMinIdle: number,
  floors: readonly ScheduleFloor[],
  now: number,
): { minIdle: number; activeFloors: ScheduleFloor[] } {
  const activeFloors = floors.filter((floor) => isFloorActive(floor, now));
  const minIdle = Math.max(baseMinIdle, ...activeFloors.map((floor) => floor.minIdle));
  return { minIdle, activeFloors };
}
