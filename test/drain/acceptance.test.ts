/**
 * Acceptance: a run that outlasts many hook heartbeat timeouts is never killed. Time is simulated: each
 * re-check the handler sends is fed back in as the next SQS event once its DelaySeconds (plus delivery latency)
 * have passed on the fake clock, and the hook model expires the action after heartbeatTimeout without a
 * heartbeat, as AWS does.
 */
import 'aws-sdk-client-mock-jest';
import { CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { DrainMetric } from '../../lambda/drain/handler';
import { DEFAULT_SCHEDULE, type DrainSchedule } from '../../lambda/drain/schedule';
import { notification, T0 } from './builders';
import { autoScalingMock, harness, SCHEDULE } from './fakes';

/** Seconds SQS and the event source mapping take to hand a visible message to the function. */
const DELIVERY_LATENCY = 10;
/** Seconds each Spacelift call takes. */
const SPACELIFT_LATENCY = 3;

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

describe.each<[string, DrainSchedule]>([
  ['a 300 s hook', SCHEDULE],
  ['the default schedule', DEFAULT_SCHEDULE],
])('busy worker with %s', (_name, schedule) => {
  test('busy for longer than 5 heartbeat timeouts: the hook never expires, completion comes once, after idle', async () => {
    const h = harness(schedule);
    h.pool.add('w-1', { busy: true });
    h.pool.latency = SPACELIFT_LATENCY;
    const busyFor = 5 * schedule.heartbeatTimeout + 137;
    expect(busyFor).toBeLessThan(schedule.drainTimeout);
    let idleAt: number | undefined;

    expect((await h.deliver(notification())).batchItemFailures).toEqual([]);
    await h.runQueue({
      latency: DELIVERY_LATENCY,
      beforeDelivery: (now) => {
        expect(h.hook.status).toBe('active');
        expect(h.hook.completions).toEqual([]);
        if (idleAt === undefined && now - T0 >= busyFor) {
          h.pool.setBusy('w-1', false);
          idleAt = now;
        }
      },
    });

    expect(idleAt).toBeDefined();
    expect(h.hook.status).toBe('completed');
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(h.hook.completions).toHaveLength(1);
    expect(h.hook.completions[0]).toBeGreaterThanOrEqual(idleAt!);
    expect(h.hook.rejected).toBe(0);
    // The action lived through more than five heartbeat timeouts on heartbeats alone.
    expect(h.hook.completions[0] - T0).toBeGreaterThan(5 * schedule.heartbeatTimeout);
    expect(Math.max(...gaps(h.hook.heartbeats))).toBeLessThan(schedule.heartbeatTimeout);
    expect(gaps(h.hook.heartbeats).every((g) => g >= schedule.recheckInterval)).toBe(true);
    expect(h.pool.isDrained('w-1')).toBe(true);
    expect(h.metrics.count(DrainMetric.CompletedIdle)).toBe(1);
    expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(0);
  });

  test('a run that never ends: the hook stays alive until the budget, then completes once with CONTINUE', async () => {
    const h = harness(schedule);
    h.pool.add('w-1', { busy: true });
    h.pool.latency = SPACELIFT_LATENCY;

    await h.deliver(notification());
    await h.runQueue({
      latency: DELIVERY_LATENCY,
      beforeDelivery: () => expect(h.hook.status).toBe('active'),
    });

    expect(h.hook.completions).toHaveLength(1);
    const waited = h.hook.completions[0] - T0;
    expect(waited).toBeGreaterThanOrEqual(schedule.drainTimeout);
    // One last delivery past the deadline, no more.
    expect(waited).toBeLessThan(schedule.drainTimeout + schedule.recheckInterval + DELIVERY_LATENCY);
    expect(Math.max(...gaps(h.hook.heartbeats))).toBeLessThan(schedule.heartbeatTimeout);
    expect(h.sent.reduce((sum, s) => sum + s.delaySeconds, 0)).toBeLessThanOrEqual(schedule.drainTimeout);
    expect(h.metrics.count(DrainMetric.CompletedBudgetExhausted)).toBe(1);
    expect(h.logger.at('error')).toHaveLength(1);
  });
});
