import { effectiveMinIdle, isFloorActive, localTime, parseSchedule, validateScheduleFloor, type ScheduleFloor } from '../../lambda/core';

const at = (iso: string) => Date.parse(iso) / 1000;
const berlinOfficeHours: ScheduleFloor = { timezone: 'Europe/Berlin', daysOfWeek: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', minIdle: 2 };

describe('localTime', () => {
  test('gives the weekday and minute of day in the zone', () => {
    expect(localTime(at('2024-01-15T12:00:00Z'), 'Europe/Berlin')).toEqual({ weekday: 1, minute: 13 * 60 });
    expect(localTime(at('2024-01-14T23:30:00Z'), 'Europe/Berlin')).toEqual({ weekday: 1, minute: 30 });
    expect(localTime(at('2024-01-14T23:30:00Z'), 'UTC')).toEqual({ weekday: 0, minute: 23 * 60 + 30 });
    expect(localTime(at('2024-01-15T00:00:00Z'), 'America/Los_Angeles')).toEqual({ weekday: 0, minute: 16 * 60 });
  });
});

describe('isFloorActive', () => {
  test.each([
    ['Monday 13:00 Berlin', '2024-01-15T12:00:00Z', true],
    ['Monday 07:59 Berlin', '2024-01-15T06:59:00Z', false],
    ['Monday 08:00 Berlin (start inclusive)', '2024-01-15T07:00:00Z', true],
    ['Friday 17:59 Berlin', '2024-01-19T16:59:00Z', true],
    ['Friday 18:00 Berlin (end exclusive)', '2024-01-19T17:00:00Z', false],
    ['Saturday 11:00 Berlin', '2024-01-20T10:00:00Z', false],
    ['summer Monday 08:00 CEST', '2024-07-15T06:00:00Z', true],
    ['summer Monday 07:59 CEST', '2024-07-15T05:59:00Z', false],
  ])('office hours floor on %s: %s', (_, iso, expected) => {
    expect(isFloorActive(berlinOfficeHours, at(iso))).toBe(expected);
  });

  test('the weekday is the local one at a day boundary', () => {
    const earlyMonday = { ...berlinOfficeHours, daysOfWeek: [1], start: '00:00', end: '06:00' };
    // Sunday 23:30 UTC is Monday 00:30 in Berlin.
    expect(isFloorActive(earlyMonday, at('2024-01-14T23:30:00Z'))).toBe(true);
    expect(isFloorActive({ ...earlyMonday, timezone: 'UTC' }, at('2024-01-14T23:30:00Z'))).toBe(false);
  });

  test.each([0, 7])('Sunday may be written as %d', (sunday) => {
    const allSunday: ScheduleFloor = { timezone: 'UTC', daysOfWeek: [sunday], start: '00:00', end: '24:00', minIdle: 1 };
    expect(isFloorActive(allSunday, at('2024-01-14T23:59:00Z'))).toBe(true);
    expect(isFloorActive(allSunday, at('2024-01-15T00:00:00Z'))).toBe(false);
  });

  test.each([
    ['Friday 23:00', '2024-01-19T23:00:00Z', true],
    ['Saturday 03:00 (the morning after Friday)', '2024-01-20T03:00:00Z', true],
    ['Saturday 06:00 (end exclusive)', '2024-01-20T06:00:00Z', false],
    ['Friday 03:00 (Thursday night not listed)', '2024-01-19T03:00:00Z', false],
    ['Saturday 23:00', '2024-01-20T23:00:00Z', false],
  ])('overnight Friday floor 22:00-06:00 on %s', (_, iso, expected) => {
    const fridayNight: ScheduleFloor = { timezone: 'UTC', daysOfWeek: [5], start: '22:00', end: '06:00', minIdle: 1 };
    expect(isFloorActive(fridayNight, at(iso))).toBe(expected);
  });
});

describe('effectiveMinIdle', () => {
  const nightly: ScheduleFloor = { timezone: 'UTC', daysOfWeek: [1], start: '11:00', end: '13:00', minIdle: 5 };

  test('takes the largest open floor or the base', () => {
    const monday13Berlin = at('2024-01-15T12:00:00Z');
    expect(effectiveMinIdle(1, [berlinOfficeHours, nightly], monday13Berlin)).toEqual({ minIdle: 5, activeFloors: [berlinOfficeHours, nightly] });
    expect(effectiveMinIdle(3, [berlinOfficeHours], monday13Berlin).minIdle).toBe(3);
    expect(effectiveMinIdle(1, [berlinOfficeHours, nightly], at('2024-01-20T12:00:00Z'))).toEqual({ minIdle: 1, activeFloors: [] });
  });
});

describe('validation', () => {
  test.each([
    [{ timezone: 'Mars/Olympus' }, /schedule\[0\]\.timezone "Mars\/Olympus" is not a known IANA time zone/],
    [{ timezone: '' }, /schedule\[0\]\.timezone must be an IANA time zone name/],
    [{ daysOfWeek: [] }, /schedule\[0\]\.daysOfWeek must be a non-empty list/],
    [{ daysOfWeek: [1, 8] }, /schedule\[0\]\.daysOfWeek must hold integers 0-7.*got 8/],
    [{ daysOfWeek: [1.5] }, /schedule\[0\]\.daysOfWeek/],
    [{ start: '8:00' }, /schedule\[0\]\.start must be HH:MM/],
    [{ start: '24:00' }, /schedule\[0\]\.start must be HH:MM/],
    [{ end: '24:01' }, /schedule\[0\]\.end must be HH:MM/],
    [{ end: '18:60' }, /schedule\[0\]\.end must be HH:MM/],
    [{ start: '08:00', end: '08:00' }, /schedule\[0\]\.end must differ from start/],
    [{ start: '00:00', end: '24:00' }, null],
    [{ minIdle: -1 }, /schedule\[0\]\.minIdle must be an integer >= 0/],
  ])('%j', (override, expected) => {
    const floor = { ...berlinOfficeHours, ...override } as ScheduleFloor;
    if (expected === null) {
      expect(() => validateScheduleFloor(floor, 'schedule[0]')).not.toThrow();
    } else {
      expect(() => validateScheduleFloor(floor, 'schedule[0]')).toThrow(expected);
    }
  });

  test('parseSchedule reads a JSON list from an env string', () => {
    expect(parseSchedule(JSON.stringify([berlinOfficeHours]))).toEqual([berlinOfficeHours]);
    expect(parseSchedule('[]')).toEqual([]);
    expect(() => parseSchedule('{')).toThrow('schedule must be a JSON list of floors');
    expect(() => parseSchedule('{"timezone":"UTC"}')).toThrow('schedule must be a JSON list of floors');
    expect(() => parseSchedule(JSON.stringify([berlinOfficeHours, { ...berlinOfficeHours, minIdle: 'two' }]))).toThrow(/schedule\[1\]\.minIdle/);
    expect(() => parseSchedule('[null]')).toThrow('schedule[0] must be an object');
  });
});
