import fc from 'fast-check';
import {
  DEFAULT_PROCESSING_MARGIN_SECONDS as MARGIN,
  DEFAULT_SCHEDULE,
  DEFER_DELAY_SECONDS,
  drainConcurrency,
  globalTimeout,
  maxDeferrals,
  maxRechecks,
  minMaxReceiveCount,
  nextStep,
  validateSchedule,
  worstHeartbeatGap,
  type DrainSchedule,
} from '../../lambda/drain/schedule';

/** A schedule the validator accepts, with at most a few hundred re-checks (keeps the simulation fast). */
const validSchedule: fc.Arbitrary<DrainSchedule> = fc
  .integer({ min: MARGIN + 2, max: 7200 })
  .chain((heartbeatTimeout) =>
    fc.integer({ min: 1, max: Math.min(900, heartbeatTimeout - MARGIN - 1) }).chain((recheckInterval) =>
      fc
        .integer({ min: 1, max: Math.min(globalTimeout(heartbeatTimeout), 300 * recheckInterval) })
        .map((drainTimeout) => ({ heartbeatTimeout, recheckInterval, drainTimeout })),
    ),
  );

/** Per step: seconds of processing before the re-check is sent, and delivery latency; together ≤ margin. */
const timings = fc.array(
  fc.tuple(fc.nat(MARGIN), fc.nat(MARGIN)).map(([a, b]) => [Math.min(a, b), Math.abs(a - b)] as const),
  { minLength: 1, maxLength: 30 },
);

/**
 * Replays one drain that stays busy: the hook starts at 0, the first delivery heartbeats after a latency,
 * every re-check heartbeats on arrival. Returns heartbeat times (the hook start counts as one) and delays.
 */
function simulate(schedule: DrainSchedule, steps: readonly (readonly [number, number])[]) {
  const heartbeats = [0];
  const delays: number[] = [];
  let now = steps[0][1];
  for (let attempt = 0; ; attempt++) {
    const step = nextStep(schedule, { rechecks: attempt, deferrals: 0, elapsedSeconds: now });
    if (step.kind === 'exhausted') return { heartbeats, delays, endedAt: now, attempts: attempt };
    heartbeats.push(now);
    delays.push(step.delaySeconds);
    const [processing, latency] = steps[attempt % steps.length];
    now += processing + step.delaySeconds + latency;
  }
}

describe('drain schedule', () => {
  test('defaults are valid, with room for a 360 s visibility timeout', () => {
    expect(validateSchedule(DEFAULT_SCHEDULE)).toEqual([]);
    expect(
      validateSchedule(DEFAULT_SCHEDULE, {
        queue: { visibilityTimeout: 360, maxReceiveCount: minMaxReceiveCount(DEFAULT_SCHEDULE, 360) },
      }),
    ).toEqual([]);
    // The budget covers Spacelift's 70-minute run timeout.
    expect(DEFAULT_SCHEDULE.drainTimeout).toBeGreaterThan(70 * 60);
  });

  test('nextStep: the interval, then the rest of the budget, then exhausted', () => {
    const s = { heartbeatTimeout: 300, recheckInterval: 60, drainTimeout: 150 };
    expect(nextStep(s, { rechecks: 0, deferrals: 0, elapsedSeconds: 0 })).toEqual({ kind: 'recheck', delaySeconds: 60 });
    expect(nextStep(s, { rechecks: 2, deferrals: 0, elapsedSeconds: 120 })).toEqual({ kind: 'recheck', delaySeconds: 30 });
    expect(nextStep(s, { rechecks: 3, deferrals: 0, elapsedSeconds: 150 })).toEqual({ kind: 'exhausted' });
    // The attempt bound holds even if the elapsed time were wrong.
    expect(maxRechecks(s)).toBe(3);
    expect(nextStep(s, { rechecks: 3, deferrals: 0, elapsedSeconds: 0 })).toEqual({ kind: 'exhausted' });
  });

  test('nextStep: deferred re-checks do not count as re-checks, and have their own bound', () => {
    const s = { heartbeatTimeout: 300, recheckInterval: 60, drainTimeout: 150 };
    // Three deferrals and two re-checks, 130 s in: the budget still has time, so the worker is checked again.
    expect(nextStep(s, { rechecks: 2, deferrals: 3, elapsedSeconds: 130 })).toEqual({ kind: 'recheck', delaySeconds: 20 });
    expect(maxDeferrals(s)).toBe(150 / DEFER_DELAY_SECONDS + 1);
    // Shorter deferrals when the interval is shorter than DEFER_DELAY_SECONDS: more of them fit the budget.
    expect(maxDeferrals({ ...s, recheckInterval: 2 })).toBe(150 / 2 + 1);
    expect(nextStep(s, { rechecks: 0, deferrals: maxDeferrals(s), elapsedSeconds: 0 })).toEqual({ kind: 'exhausted' });
  });

  test('property: however many re-checks are deferred, a busy drain ends only once its budget has passed', () => {
    fc.assert(
      fc.property(validSchedule, fc.array(fc.record({ deferred: fc.boolean(), overhead: fc.nat(MARGIN) }), { minLength: 1, maxLength: 50 }),
        (schedule, steps) => {
          let now = 0;
          let rechecks = 0;
          let deferrals = 0;
          for (let i = 0; ; i++) {
            const next = nextStep(schedule, { rechecks, deferrals, elapsedSeconds: now });
            if (next.kind === 'exhausted') break;
            const step = steps[i % steps.length];
            if (step.deferred) {
              deferrals++;
              now += Math.min(DEFER_DELAY_SECONDS, next.delaySeconds) + step.overhead;
            } else {
              rechecks++;
              now += next.delaySeconds + step.overhead;
            }
          }
          expect(now).toBeGreaterThanOrEqual(schedule.drainTimeout);
        }),
      // A counterexample CI found (a 1 s interval: each deferral waits 1 s, not 5), then random ones.
      { examples: [[{ heartbeatTimeout: 122, recheckInterval: 1, drainTimeout: 2 }, [{ deferred: true, overhead: 0 }]]], numRuns: 2000 },
    );
  });

  test('global timeout is min(100 × heartbeat timeout, 48 h)', () => {
    expect(globalTimeout(300)).toBe(30_000);
    expect(globalTimeout(7200)).toBe(172_800);
  });

  test('property: a valid schedule heartbeats in time, and waits at most drainTimeout ≤ global timeout', () => {
    fc.assert(
      fc.property(validSchedule, timings, (schedule, steps) => {
        expect(validateSchedule(schedule)).toEqual([]);
        const run = simulate(schedule, steps);
        const gaps = run.heartbeats.slice(1).map((t, i) => t - run.heartbeats[i]);
        expect(gaps.every((gap) => gap < schedule.heartbeatTimeout)).toBe(true);
        expect(run.delays.every((d) => d >= 1 && d <= 900)).toBe(true);
        const totalWait = run.delays.reduce((a, b) => a + b, 0);
        expect(totalWait).toBeLessThanOrEqual(schedule.drainTimeout);
        expect(schedule.drainTimeout).toBeLessThanOrEqual(globalTimeout(schedule.heartbeatTimeout));
        // The chain ends: no heartbeat after the budget, and never more than maxRechecks re-checks.
        expect(run.heartbeats.every((t) => t < schedule.drainTimeout)).toBe(true);
        expect(run.attempts).toBeLessThanOrEqual(maxRechecks(schedule) + 1);
      }),
    );
  });

  test('property: any schedule is either rejected, each problem naming its setting, or safe', () => {
    const anyNumber = fc.oneof(fc.integer({ min: -10, max: 200_000 }), fc.double({ min: -10, max: 10_000, noNaN: true }));
    fc.assert(
      fc.property(anyNumber, anyNumber, anyNumber, timings, (heartbeatTimeout, recheckInterval, drainTimeout, steps) => {
        const schedule = { heartbeatTimeout, recheckInterval, drainTimeout };
        const problems = validateSchedule(schedule);
        if (problems.length > 0) {
          for (const p of problems) expect(p.message).toContain(p.setting);
          return;
        }
        fc.pre(drainTimeout / recheckInterval <= 2000);
        const run = simulate(schedule, steps);
        const gaps = run.heartbeats.slice(1).map((t, i) => t - run.heartbeats[i]);
        expect(Math.max(...gaps)).toBeLessThan(heartbeatTimeout);
        expect(drainTimeout).toBeLessThanOrEqual(globalTimeout(heartbeatTimeout));
      }),
    );
  });

  test('property: with valid queue settings, failed receives still heartbeat in time and reach the budget', () => {
    const roomForVisibility = (s: DrainSchedule) => s.heartbeatTimeout - s.recheckInterval - MARGIN - 1;
    const withQueue = validSchedule.filter((s) => roomForVisibility(s) >= 1).chain((schedule) =>
      fc
        .integer({ min: Math.min(30, roomForVisibility(schedule)), max: roomForVisibility(schedule) })
        .map((visibilityTimeout) => ({
          schedule,
          queue: { visibilityTimeout, maxReceiveCount: minMaxReceiveCount(schedule, visibilityTimeout) },
        })),
    );
    fc.assert(
      fc.property(withQueue, fc.nat(MARGIN), fc.nat(), (setup, latency, start) => {
        const { schedule, queue } = setup;
        expect(validateSchedule(schedule, { queue })).toEqual([]);
        // A re-check arrives (heartbeat), Spacelift is down from then on: every receive fails after its
        // heartbeat and comes back one visibility timeout (plus latency) later.
        let elapsed = start % schedule.drainTimeout;
        let receives = 0;
        let lastBeat = elapsed - schedule.recheckInterval - latency;
        while (nextStep(schedule, { rechecks: 0, deferrals: 0, elapsedSeconds: elapsed }).kind === 'recheck') {
          receives++;
          expect(receives).toBeLessThan(queue.maxReceiveCount);
          expect(elapsed - lastBeat).toBeLessThan(schedule.heartbeatTimeout);
          lastBeat = elapsed;
          elapsed += queue.visibilityTimeout + latency;
        }
        // The receive that finds the budget spent completes the action instead of going to the DLQ.
        expect(receives + 1).toBeLessThanOrEqual(queue.maxReceiveCount);
      }),
    );
  });

  describe('when the function is throttled', () => {
    // The drain construct's queue: six times its 60 s function timeout (AWS's recommendation for SQS event sources).
    const VISIBILITY = 360;

    test('defaults: a re-check whose receive is throttled out still heartbeats 60 s before the hook expires', () => {
      expect(worstHeartbeatGap(DEFAULT_SCHEDULE, VISIBILITY)).toBe(MARGIN + 60 + VISIBILITY);
      expect(worstHeartbeatGap(DEFAULT_SCHEDULE, VISIBILITY)).toBe(540);
      expect(worstHeartbeatGap(DEFAULT_SCHEDULE, VISIBILITY)).toBeLessThan(DEFAULT_SCHEDULE.heartbeatTimeout);
    });

    test('property: with queue settings the validator accepts, a throttled invocation is retried or redelivered in time', () => {
      const withQueue = validSchedule.chain((schedule) =>
        fc.integer({ min: 1, max: schedule.heartbeatTimeout }).map((visibilityTimeout) => ({
          schedule,
          queue: { visibilityTimeout, maxReceiveCount: minMaxReceiveCount(schedule, visibilityTimeout) },
        })),
      );
      /**
       * Per re-check: processing before the send, latency of the first receive, how long the event source
       * mapping retries a throttled invocation (0 = not throttled), and the latency of a redelivered receive.
       * A retry window as long as the visibility timeout means the invocation never got through.
       */
      const step = (visibility: number) => fc.record({
        processing: fc.nat(MARGIN / 2),
        latency: fc.nat(MARGIN / 4),
        throttledFor: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: visibility })),
        redeliveryLatency: fc.nat(MARGIN / 4),
      });
      fc.assert(
        fc.property(withQueue.chain((setup) =>
          fc.tuple(fc.constant(setup), fc.array(step(setup.queue.visibilityTimeout), { minLength: 1, maxLength: 20 }))),
        ([{ schedule, queue }, steps]) => {
          fc.pre(validateSchedule(schedule, { queue }).length === 0);
          let lastBeat = 0;
          let now = 0;
          for (let attempt = 0; ; attempt++) {
            const next = nextStep(schedule, { rechecks: attempt, deferrals: 0, elapsedSeconds: now });
            if (next.kind === 'exhausted') break;
            const s = steps[attempt % steps.length];
            // The re-check is sent after processing and becomes visible after its delay.
            now += s.processing + next.delaySeconds + s.latency;
            let receives = 1;
            if (s.throttledFor >= queue.visibilityTimeout) {
              // Never invoked within the visibility timeout: the message reappears and is received again.
              now += queue.visibilityTimeout + s.redeliveryLatency;
              receives++;
            } else {
              now += s.throttledFor;
            }
            // The handler heartbeats first thing in the invocation.
            expect(now - lastBeat).toBeLessThanOrEqual(worstHeartbeatGap(schedule, queue.visibilityTimeout));
            expect(now - lastBeat).toBeLessThan(schedule.heartbeatTimeout);
            // Each re-check is a new message, so its receive count starts again, and SQS dead-letters a
            // message only once its receive count exceeds maxReceiveCount.
            expect(receives).toBeLessThanOrEqual(queue.maxReceiveCount);
            lastBeat = now;
          }
        }),
      );
    });

    test('a heartbeat timeout a throttled receive can outlive is rejected, naming the visibility timeout', () => {
      const problems = validateSchedule(
        { ...DEFAULT_SCHEDULE, heartbeatTimeout: 540 },
        { queue: { visibilityTimeout: VISIBILITY, maxReceiveCount: 100 } },
      );
      expect(problems.map((p) => p.setting)).toEqual(['visibilityTimeout']);
      expect(problems[0].message).toContain('throttled');
    });

    test('concurrency: one execution per instance of the group, within what an SQS event source accepts', () => {
      expect(drainConcurrency(10)).toBe(10);
      expect(drainConcurrency(0)).toBe(2);
      expect(drainConcurrency(1)).toBe(2);
      expect(drainConcurrency(5000)).toBe(1000);
    });
  });

  describe('rejects, naming the setting', () => {
    const cases: [string, Partial<DrainSchedule>, string][] = [
      ['heartbeat timeout below the AWS minimum', { heartbeatTimeout: 20 }, 'heartbeatTimeout'],
      ['heartbeat timeout above the AWS maximum', { heartbeatTimeout: 7201 }, 'heartbeatTimeout'],
      ['fractional seconds', { recheckInterval: 1.5 }, 'recheckInterval'],
      ['a delay above the SQS maximum', { recheckInterval: 901, heartbeatTimeout: 7200 }, 'recheckInterval'],
      ['a zero interval', { recheckInterval: 0 }, 'recheckInterval'],
      ['a re-check that can outlive the heartbeat', { heartbeatTimeout: 300, recheckInterval: 180 }, 'recheckInterval'],
      ['a budget beyond 100 × heartbeat timeout', { heartbeatTimeout: 300, drainTimeout: 30_001 }, 'drainTimeout'],
      ['a budget beyond 48 h', { heartbeatTimeout: 7200, drainTimeout: 172_801 }, 'drainTimeout'],
      ['no budget', { drainTimeout: 0 }, 'drainTimeout'],
    ];
    test.each(cases)('%s', (_name, change, setting) => {
      const problems = validateSchedule({ ...DEFAULT_SCHEDULE, ...change });
      expect(problems.map((p) => p.setting)).toEqual([setting]);
      expect(problems[0].message).toContain(setting);
    });

    test('a larger processing margin tightens the re-check bound', () => {
      const schedule = { heartbeatTimeout: 300, recheckInterval: 60, drainTimeout: 4800 };
      expect(validateSchedule(schedule)).toEqual([]);
      expect(validateSchedule(schedule, { processingMargin: 240 }).map((p) => p.setting)).toEqual(['recheckInterval']);
    });

    test('a visibility timeout that lets a failed receive outlive the heartbeat', () => {
      const problems = validateSchedule(DEFAULT_SCHEDULE, { queue: { visibilityTimeout: 420, maxReceiveCount: 100 } });
      expect(problems.map((p) => p.setting)).toEqual(['visibilityTimeout']);
    });

    test('a maxReceiveCount that sends a live drain to the DLQ during an outage', () => {
      const problems = validateSchedule(DEFAULT_SCHEDULE, { queue: { visibilityTimeout: 300, maxReceiveCount: 5 } });
      expect(problems.map((p) => p.setting)).toEqual(['maxReceiveCount']);
      expect(problems[0].message).toContain(`at least ${minMaxReceiveCount(DEFAULT_SCHEDULE, 300)}`);
      expect(minMaxReceiveCount(DEFAULT_SCHEDULE, 300)).toBe(17);
    });
  });
});
