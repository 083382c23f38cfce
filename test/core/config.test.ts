import { DEFAULT_SCALING_CONFIG, ScaleDownDelay, validateScalingConfig, type ScalingConfig } from '../../lambda/core';

const withField = (fields: Record<string, unknown>) => ({ ...DEFAULT_SCALING_CONFIG, ...fields }) as ScalingConfig;

describe('DEFAULT_SCALING_CONFIG', () => {
  test('is valid, frozen and has the documented values', () => {
    expect(() => validateScalingConfig(DEFAULT_SCALING_CONFIG)).not.toThrow();
    expect(Object.isFrozen(DEFAULT_SCALING_CONFIG)).toBe(true);
    expect(DEFAULT_SCALING_CONFIG).toMatchObject({
      minIdle: 0,
      schedule: [],
      demandSignal: 'pendingRuns',
      maxCreatePerTick: undefined,
      maxTerminatePerTick: 5,
      maxStraysPerTick: 1,
      registrationGraceSeconds: 600,
      drainedReclaimSeconds: 900,
    });
    expect(DEFAULT_SCALING_CONFIG.scaleDownDelay.toString()).toBe('fixed:0');
    expect(DEFAULT_SCALING_CONFIG.busyFinishingWithinSeconds).toBe(90);
  });
});

describe('validateScalingConfig', () => {
  test.each([
    [{ minIdle: -1 }, 'scaling config: minIdle must be an integer >= 0, got -1'],
    [{ minIdle: 1.5 }, 'scaling config: minIdle must be an integer >= 0, got 1.5'],
    [{ minIdle: '2' }, 'scaling config: minIdle must be an integer >= 0, got "2"'],
    [{ schedule: 'weekdays' }, 'scaling config: schedule must be a list of floors'],
    [{ schedule: [{ timezone: 'UTC', daysOfWeek: [9], start: '08:00', end: '18:00', minIdle: 1 }] }, /scaling config: schedule\[0\]\.daysOfWeek/],
    [{ demandSignal: 'queue' }, 'scaling config: demandSignal must be one of pendingRuns, schedulableRunsCount, got "queue"'],
    [{ maxCreatePerTick: 0 }, 'scaling config: maxCreatePerTick must be an integer >= 1, got 0'],
    [{ maxTerminatePerTick: -1 }, 'scaling config: maxTerminatePerTick must be an integer >= 0, got -1'],
    [{ maxStraysPerTick: Number.NaN }, 'scaling config: maxStraysPerTick must be an integer >= 0, got null'],
    [{ registrationGraceSeconds: -60 }, 'scaling config: registrationGraceSeconds must be an integer >= 0, got -60'],
    [{ drainedReclaimSeconds: -1 }, 'scaling config: drainedReclaimSeconds must be an integer >= 0, got -1'],
    [{ drainedReclaimSeconds: 1.5 }, 'scaling config: drainedReclaimSeconds must be an integer >= 0, got 1.5'],
    [{ drainedReclaimSeconds: undefined }, 'scaling config: drainedReclaimSeconds must be an integer >= 0, got undefined'],
    [{ scaleDownDelay: 300 }, /scaling config: scaleDownDelay must be built with/],
  ])('%j', (fields, message) => {
    expect(() => validateScalingConfig(withField(fields))).toThrow(message);
  });

  test.each([
    [{ maxCreatePerTick: 3 }],
    [{ maxTerminatePerTick: 0, maxStraysPerTick: 0, registrationGraceSeconds: 0, drainedReclaimSeconds: 0 }],
    [{ demandSignal: 'schedulableRunsCount', scaleDownDelay: ScaleDownDelay.fixed(0) }],
  ])('accepts %j', (fields) => {
    expect(() => validateScalingConfig(withField(fields))).not.toThrow();
  });
});
