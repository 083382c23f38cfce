import { DEFAULT_BREAK_EVEN, parseScaleDownDelay, ScaleDownDelay } from '../../lambda/core';

const perHour = (runs: number) => runs / 3600;

describe('ScaleDownDelay.fixed', () => {
  test('ignores the arrival rate', () => {
    const delay = ScaleDownDelay.fixed(300);
    expect(delay.secondsFor({ arrivalsPerSecond: undefined, idleWorkers: 0 })).toBe(300);
    expect(delay.secondsFor({ arrivalsPerSecond: perHour(1000), idleWorkers: 1 })).toBe(300);
    expect(delay.explain({ arrivalsPerSecond: undefined, idleWorkers: 0 })).toBe('scale-down delay 300s (fixed)');
  });

  test.each([-1, 1.5, Number.NaN])('rejects %p seconds', (seconds) => {
    expect(() => ScaleDownDelay.fixed(seconds)).toThrow(/scaleDownDelay\.seconds must be an integer >= 0/);
  });
});

describe('ScaleDownDelay.breakEven', () => {
  const rule = ScaleDownDelay.breakEven();

  test('defaults are boot 120 s, floor 30 s, ceiling 600 s', () => {
    expect(DEFAULT_BREAK_EVEN).toEqual({ bootSeconds: 120, minSeconds: 30, maxSeconds: 600 });
    expect(rule.spec).toEqual({ kind: 'breakEven', bootSeconds: 120, minSeconds: 30, maxSeconds: 600 });
  });

  test.each([
    ['no estimate: one boot time', undefined, 1, 120],
    ['break-even rate (30 runs/h on one idle worker)', perHour(30), 1, 120],
    ['60 runs/h on one idle worker', perHour(60), 1, 240],
    ['60 runs/h shared by two idle workers', perHour(60), 2, 120],
    ['60 runs/h with nobody idle counts as one', perHour(60), 0, 240],
    ['rare arrivals (6 runs/h: 24 s) hit the floor', perHour(6), 1, 30],
    ['no arrivals at all hit the floor', 0, 1, 30],
    ['frequent arrivals hit the ceiling', perHour(600), 1, 600],
    ['a burst going idle at once: 600 runs/h over 50 idle workers', perHour(600), 50, 48],
    ['a bigger burst going idle at once: 600 runs/h over 100 idle workers hits the floor', perHour(600), 100, 30],
  ])('%s', (_, arrivalsPerSecond, idleWorkers, expected) => {
    expect(rule.secondsFor({ arrivalsPerSecond, idleWorkers })).toBe(expected);
  });

  test('the neutral delay is the boot time clamped to the bounds', () => {
    expect(ScaleDownDelay.breakEven({ bootSeconds: 20 }).secondsFor({ arrivalsPerSecond: undefined, idleWorkers: 1 })).toBe(30);
    expect(ScaleDownDelay.breakEven({ bootSeconds: 1000 }).secondsFor({ arrivalsPerSecond: undefined, idleWorkers: 1 })).toBe(600);
  });

  test('explains the inputs', () => {
    expect(rule.explain({ arrivalsPerSecond: perHour(60), idleWorkers: 1 })).toBe(
      'scale-down delay 240s (breakEven:boot=120,min=30,max=600; 60.0 runs/h shared by 1 idle)',
    );
  });

  test.each([
    [{ bootSeconds: 0 }, /scaleDownDelay\.bootSeconds must be an integer >= 1/],
    [{ minSeconds: -1 }, /scaleDownDelay\.minSeconds must be an integer >= 0/],
    [{ minSeconds: 700 }, /scaleDownDelay\.maxSeconds must be an integer >= 700, got 600/],
    [{ maxSeconds: 12.5 }, /scaleDownDelay\.maxSeconds/],
  ])('rejects %j', (options, message) => {
    expect(() => ScaleDownDelay.breakEven(options)).toThrow(message);
  });
});

describe('parseScaleDownDelay', () => {
  test.each([
    ['fixed:300', { kind: 'fixed', seconds: 300 }],
    ['fixed:0', { kind: 'fixed', seconds: 0 }],
    ['  fixed:45 ', { kind: 'fixed', seconds: 45 }],
    ['breakEven', { kind: 'breakEven', bootSeconds: 120, minSeconds: 30, maxSeconds: 600 }],
    ['breakEven:', { kind: 'breakEven', bootSeconds: 120, minSeconds: 30, maxSeconds: 600 }],
    ['breakEven:boot=150', { kind: 'breakEven', bootSeconds: 150, minSeconds: 30, maxSeconds: 600 }],
    ['breakEven:min=60', { kind: 'breakEven', bootSeconds: 120, minSeconds: 60, maxSeconds: 600 }],
    ['breakEven:max=900,boot=150,min=30', { kind: 'breakEven', bootSeconds: 150, minSeconds: 30, maxSeconds: 900 }],
  ])('%j', (text, spec) => {
    expect(parseScaleDownDelay(text).spec).toEqual(spec);
  });

  test.each(['fixed:300', 'breakEven:boot=150,min=30,max=900'])('%s round-trips through toString', (text) => {
    expect(parseScaleDownDelay(text).toString()).toBe(text);
    expect(parseScaleDownDelay(ScaleDownDelay.breakEven().toString()).spec).toEqual(ScaleDownDelay.breakEven().spec);
  });

  test.each([
    ['', /expected "fixed:<seconds>"/],
    ['fixed', /expected "fixed:<seconds>"/],
    ['fixed:', /"" is not a whole number of seconds/],
    ['fixed:5m', /"5m" is not a whole number of seconds/],
    ['fixed:-1', /"-1" is not a whole number of seconds/],
    ['fixed:1:2', /expected "fixed:<seconds>"/],
    ['linear:5', /expected "fixed:<seconds>"/],
    ['breakeven', /expected "fixed:<seconds>"/],
    ['breakEven:foo=1', /bad option "foo=1"/],
    ['breakEven:toString=1', /bad option "toString=1"/],
    ['breakEven:boot', /bad option "boot"/],
    ['breakEven:boot=1=2', /bad option "boot=1=2"/],
    ['breakEven:boot=1,boot=2', /bad option "boot=2"/],
    ['breakEven:min=700', /scaleDownDelay\.maxSeconds must be an integer >= 700/],
  ])('rejects %j', (text, message) => {
    expect(() => parseScaleDownDelay(text)).toThrow(message);
  });
});
