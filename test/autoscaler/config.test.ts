import { DEFAULT_LOOP_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS, loadAutoscalerConfig } from '../../lambda/autoscaler/config';
import { DEFAULT_SCALING_CONFIG, ScaleDownDelay } from '../../lambda/core';
import { ConfigError } from '../../lambda/shared/env';

const REQUIRED = {
  SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
  SPACELIFT_API_KEY_ID: '01APIKEY',
  SPACELIFT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-AbCdEf',
  SPACELIFT_WORKER_POOL_ID: '01POOL',
  ASG_NAME: 'workers-asg',
};

const load = (extra: Record<string, string | undefined> = {}) => loadAutoscalerConfig({ ...REQUIRED, ...extra });

describe('loadAutoscalerConfig', () => {
  test('required variables only: the scaling defaults of the core policy', () => {
    const config = load();
    expect(config).toEqual({
      spacelift: {
        endpoint: REQUIRED.SPACELIFT_API_ENDPOINT,
        apiKeyId: REQUIRED.SPACELIFT_API_KEY_ID,
        apiKeySecretRef: REQUIRED.SPACELIFT_API_KEY_SECRET_ARN,
        workerPoolId: REQUIRED.SPACELIFT_WORKER_POOL_ID,
      },
      asgName: 'workers-asg',
      scaling: { ...DEFAULT_SCALING_CONFIG },
      pollIntervalSeconds: 15,
      loopSeconds: 50,
      scheduleSeconds: 60,
      pollWhen: 'needed',
      metrics: 'alarms',
    });
    expect(DEFAULT_POLL_INTERVAL_SECONDS).toBe(15);
    expect(DEFAULT_LOOP_SECONDS).toBe(50);
    expect(config.scaling.maxCreatePerTick).toBeUndefined();
    // The defaults the simulator recommends (BENCHMARKS.md §3), pinned here as the Lambda sees them.
    expect(config.scaling.maxTerminatePerTick).toBe(5);
    expect(config.scaling.scaleDownDelay.toString()).toBe('fixed:0');
    expect(config.scaling.busyFinishingWithinSeconds).toBe(90);
    expect(config.scaling.drainedReclaimSeconds).toBe(900);
    expect(config.scaling.lostReclaimSeconds).toBe(4800);
  });

  test('empty optional variables count as unset', () => {
    expect(load({ MIN_IDLE: '', SCHEDULE: ' ', MAX_CREATE_PER_TICK: '' }).scaling).toEqual({ ...DEFAULT_SCALING_CONFIG });
  });

  test('every optional variable is read', () => {
    const schedule = [{ timezone: 'Europe/Berlin', daysOfWeek: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', minIdle: 2 }];
    const config = load({
      MIN_IDLE: '1',
      SCHEDULE: JSON.stringify(schedule),
      DEMAND_SIGNAL: 'schedulableRunsCount',
      MAX_CREATE_PER_TICK: '3',
      MAX_TERMINATE_PER_TICK: '0',
      MAX_STRAYS_PER_TICK: '2',
      REGISTRATION_GRACE_SECONDS: '300',
      SCALE_DOWN_DELAY: 'fixed:90',
      DRAINED_RECLAIM_SECONDS: '0',
      LOST_RECLAIM_SECONDS: '600',
      REAP_STRAYS: 'false',
      BUSY_FINISHING_WITHIN_SECONDS: '0',
      POLL_INTERVAL_SECONDS: '5',
      LOOP_SECONDS: '0',
      SCHEDULE_SECONDS: '1800',
      POLL_WHEN: 'always',
      METRICS: 'all',
    });
    expect(config.scaling).toEqual({
      minIdle: 1,
      schedule,
      demandSignal: 'schedulableRunsCount',
      maxCreatePerTick: 3,
      maxTerminatePerTick: 0,
      maxStraysPerTick: 2,
      registrationGraceSeconds: 300,
      reapStrays: false,
      scaleDownDelay: ScaleDownDelay.fixed(90),
      busyFinishingWithinSeconds: 0,
      drainedReclaimSeconds: 0,
      lostReclaimSeconds: 600,
    });
    expect(config.pollIntervalSeconds).toBe(5);
    expect(config.loopSeconds).toBe(0);
    expect(config.scheduleSeconds).toBe(1800);
  });

  test.each(Object.keys(REQUIRED))('%s is required', (name) => {
    expect(() => load({ [name]: undefined })).toThrow(new ConfigError(`environment variable ${name} is required but not set`));
    expect(() => load({ [name]: '  ' })).toThrow(`environment variable ${name} is required but not set`);
  });

  test.each([
    ['MIN_IDLE', '-1', 'environment variable MIN_IDLE must be >= 0, got -1'],
    ['MIN_IDLE', 'two', 'environment variable MIN_IDLE must be an integer, got "two"'],
    ['SCHEDULE', '{"timezone":"UTC"}', 'environment variable SCHEDULE: schedule must be a JSON list of floors'],
    ['SCHEDULE', '[{"timezone":"Mars/Olympus","daysOfWeek":[1],"start":"08:00","end":"18:00","minIdle":1}]', 'environment variable SCHEDULE: schedule[0].timezone "Mars/Olympus" is not a known IANA time zone'],
    ['DEMAND_SIGNAL', 'queue', 'environment variable DEMAND_SIGNAL must be one of pendingRuns, schedulableRunsCount, got "queue"'],
    ['MAX_CREATE_PER_TICK', '0', 'environment variable MAX_CREATE_PER_TICK must be >= 1, got 0'],
    ['MAX_CREATE_PER_TICK', '1.5', 'environment variable MAX_CREATE_PER_TICK must be an integer, got "1.5"'],
    ['MAX_TERMINATE_PER_TICK', '-1', 'environment variable MAX_TERMINATE_PER_TICK must be >= 0, got -1'],
    ['MAX_STRAYS_PER_TICK', 'x', 'environment variable MAX_STRAYS_PER_TICK must be an integer, got "x"'],
    ['REGISTRATION_GRACE_SECONDS', '-5', 'environment variable REGISTRATION_GRACE_SECONDS must be >= 0, got -5'],
    ['DRAINED_RECLAIM_SECONDS', '-1', 'environment variable DRAINED_RECLAIM_SECONDS must be >= 0, got -1'],
    ['DRAINED_RECLAIM_SECONDS', '15m', 'environment variable DRAINED_RECLAIM_SECONDS must be an integer, got "15m"'],
    ['LOST_RECLAIM_SECONDS', '-1', 'environment variable LOST_RECLAIM_SECONDS must be >= 0, got -1'],
    ['REAP_STRAYS', 'no', 'environment variable REAP_STRAYS must be one of true, false, got "no"'],
    ['SCALE_DOWN_DELAY', '5m', 'environment variable SCALE_DOWN_DELAY: scale-down delay "5m": expected'],
    ['SCALE_DOWN_DELAY', 'breakEven:min=90,max=60', 'environment variable SCALE_DOWN_DELAY: scaleDownDelay.maxSeconds must be an integer >= 90, got 60'],
    ['POLL_INTERVAL_SECONDS', '4', 'environment variable POLL_INTERVAL_SECONDS must be >= 5, got 4'],
    ['POLL_INTERVAL_SECONDS', '61', 'environment variable POLL_INTERVAL_SECONDS must be <= 60, got 61'],
    ['LOOP_SECONDS', '-1', 'environment variable LOOP_SECONDS must be >= 0, got -1'],
    ['LOOP_SECONDS', '901', 'environment variable LOOP_SECONDS must be <= 900, got 901'],
    ['SCHEDULE_SECONDS', '59', 'environment variable SCHEDULE_SECONDS must be >= 60, got 59'],
    ['SCHEDULE_SECONDS', '3601', 'environment variable SCHEDULE_SECONDS must be <= 3600, got 3601'],
  ])('%s=%s is rejected with the variable named', (name, value, message) => {
    let error: unknown;
    try {
      load({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
  });
});
