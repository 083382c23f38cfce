import { arrivalRate, countRunStarts, DEFAULT_ARRIVAL_HALF_LIFE_SECONDS, observeArrivals, type ArrivalState, type WorkerSighting } from '../../lambda/core';
import { instanceId, NOW, pool, worker } from './builders';

const T0 = NOW - 3600;
const sighted = (busy: boolean, availableAt?: number): Record<string, WorkerSighting> => ({ w: { busy, availableAt } });
const now = (busy: boolean, availableAt?: number) => pool([worker('w', instanceId(1), { busy, availableAt })]);

describe('countRunStarts', () => {
  test.each([
    ['idle -> busy', sighted(false, T0), now(true, T0), 1],
    ['idle -> busy after a short run in between', sighted(false, T0), now(true, T0 + 30), 2],
    ['idle -> idle with a new idle-since', sighted(false, T0), now(false, T0 + 30), 1],
    ['busy -> busy with a new idle-since (finished one, started another)', sighted(true, T0), now(true, T0 + 30), 1],
    ['busy -> idle (finished, nothing new)', sighted(true, T0), now(false, T0 + 30), 0],
    ['busy -> busy unchanged', sighted(true, T0), now(true, T0), 0],
    ['idle -> idle unchanged', sighted(false, T0), now(false, T0), 0],
    ['idle -> busy without availableAt', sighted(false), now(true), 1],
    ['idle -> idle when availableAt disappears', sighted(false, T0), now(false), 0],
    ['first seen busy', {}, now(true, T0), 1],
    ['first seen idle', {}, now(false, T0), 0],
  ])('%s', (_, previous, snapshot, expected) => {
    expect(countRunStarts(previous, snapshot)).toBe(expected);
  });

  test('a worker named like an Object prototype member is still new', () => {
    expect(countRunStarts({}, pool([worker('constructor', instanceId(1), { busy: true })]))).toBe(1);
  });
});

describe('observeArrivals', () => {
  const queueOf = (pendingRuns: number) => pool([], pendingRuns);

  test('the first snapshot only sets the baseline; the rate is unknown', () => {
    const state = observeArrivals(undefined, queueOf(4), NOW);
    expect(state).toEqual({ at: NOW, pendingRuns: 4, workers: {}, weightedRate: 0, weight: 0 });
    expect(arrivalRate(state)).toBeUndefined();
    expect(arrivalRate(undefined)).toBeUndefined();
  });

  test('the rate is reported once the observations span a half-life, bias-corrected', () => {
    // One new queued run per minute: exactly 1/60 runs per second.
    let state = observeArrivals(undefined, queueOf(0), NOW);
    for (let tick = 1; tick <= 9; tick++) {
      state = observeArrivals(state, queueOf(tick), NOW + tick * 60);
      expect(arrivalRate(state)).toBeUndefined();
    }
    state = observeArrivals(state, queueOf(10), NOW + 600);
    expect(arrivalRate(state)).toBeCloseTo(1 / 60, 12);
  });

  test('a queued run that starts later is counted once', () => {
    const busyAll = pool([1, 2, 3].map((n) => worker(`w${n}`, instanceId(n), { busy: true })), 0);
    const idleAll = pool([1, 2, 3].map((n) => worker(`w${n}`, instanceId(n))), 3);
    const queued = observeArrivals(undefined, idleAll, NOW);
    const started = observeArrivals({ ...queued, weight: 1 }, busyAll, NOW + 60);
    expect(started.weightedRate).toBe(0);
  });

  test('runs leaving the queue without starting never make the rate negative', () => {
    const start: ArrivalState = { at: NOW, pendingRuns: 5, workers: {}, weightedRate: 0, weight: 1 };
    expect(observeArrivals(start, queueOf(0), NOW + 60).weightedRate).toBe(0);
  });

  test('without new arrivals the rate halves every half-life', () => {
    const burst: ArrivalState = { at: NOW, pendingRuns: 0, workers: {}, weightedRate: 0.1, weight: 1 };
    const later = observeArrivals(burst, queueOf(0), NOW + DEFAULT_ARRIVAL_HALF_LIFE_SECONDS);
    expect(arrivalRate(later)).toBeCloseTo(0.05, 12);
    const shortHalfLife = observeArrivals(burst, queueOf(0), NOW + 60, 60);
    expect(arrivalRate(shortHalfLife)).toBeCloseTo(0.05, 12);
  });

  test('a snapshot not newer than the state is ignored', () => {
    const state: ArrivalState = { at: NOW, pendingRuns: 0, workers: {}, weightedRate: 0.1, weight: 1 };
    expect(observeArrivals(state, queueOf(50), NOW)).toBe(state);
    expect(observeArrivals(state, queueOf(50), NOW - 10)).toBe(state);
  });

  test('remembers each worker for the next tick', () => {
    const state = observeArrivals(undefined, pool([worker('w1', instanceId(1), { busy: true, availableAt: T0 })]), NOW);
    expect(state.workers).toEqual({ w1: { busy: true, availableAt: T0 } });
  });

  test.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('rejects half-life %p', (halfLife) => {
    expect(() => observeArrivals(undefined, queueOf(0), NOW, halfLife)).toThrow(/halfLifeSeconds must be a positive number/);
  });
});
