import { finishingSoon, MAX_SAMPLES, MIN_SAMPLES, observeRunDurations, type RunDurations } from '../../lambda/core/run-durations';
import type { PoolSnapshot, Worker } from '../../lambda/core/types';

const NOW = 1_700_000_000;

function worker(id: string, busy: boolean, extra: Partial<Worker> = {}): Worker {
  return { id, busy, drained: false, createdAt: NOW - 10_000, metadata: { valid: true, asgName: 'asg', instanceId: `i-${id}` }, ...extra };
}
const pool = (...workers: Worker[]): PoolSnapshot => ({ pendingRuns: 0, workers });
const workers = (...list: Worker[]): Worker[] => list;

/** A state that has seen `durations` end, and `busy` workers start at the given times. */
function learnt(durations: number[], busy: Record<string, number> = {}): RunDurations {
  const workers = Object.fromEntries(Object.entries(busy).map(([id, since]) => [id, { busy: true, since }]));
  return { at: NOW, workers, samples: durations };
}

describe('observeRunDurations', () => {
  test('a worker seen idle then busy started in between; its run ends at availableAt', () => {
    const first = observeRunDurations(undefined, pool(worker('w1', false)), NOW);
    const second = observeRunDurations(first, pool(worker('w1', true)), NOW + 60);
    expect(second.workers.w1).toEqual({ busy: true, since: NOW + 30 });
    const third = observeRunDurations(second, pool(worker('w1', false, { availableAt: NOW + 200 })), NOW + 240);
    expect(third.samples).toEqual([170]);
  });

  test('a worker first seen busy has an unknown start, and its run gives no sample', () => {
    const first = observeRunDurations(undefined, pool(worker('w1', true)), NOW);
    expect(first.workers.w1.since).toBeUndefined();
    const second = observeRunDurations(first, pool(worker('w1', false, { availableAt: NOW + 30 })), NOW + 60);
    expect(second.samples).toEqual([]);
  });

  test('a worker that registered between two snapshots started its run after registering', () => {
    const first = observeRunDurations(undefined, pool(), NOW);
    const second = observeRunDurations(first, pool(worker('w2', true, { createdAt: NOW + 40 })), NOW + 60);
    expect(second.workers.w2.since).toBe(NOW + 50);
  });

  test('busy at both snapshots with a new availableAt: one run ended, the next started after it', () => {
    const first = observeRunDurations(undefined, pool(worker('w1', false, { availableAt: NOW - 5 })), NOW);
    const second = observeRunDurations(first, pool(worker('w1', true, { availableAt: NOW - 5 })), NOW + 60);
    const third = observeRunDurations(second, pool(worker('w1', true, { availableAt: NOW + 100 })), NOW + 120);
    expect(third.samples).toEqual([70]);
    expect(third.workers.w1.since).toBe(NOW + 110);
  });

  test('a snapshot not newer than the state is ignored; samples are capped', () => {
    const state = learnt(Array.from({ length: MAX_SAMPLES }, (_, i) => i + 1));
    expect(observeRunDurations(state, pool(worker('w1', true)), NOW)).toBe(state);
    const withBusy = { ...state, workers: { w1: { busy: true, since: NOW - 50 } } };
    const next = observeRunDurations(withBusy, pool(worker('w1', false)), NOW + 10);
    expect(next.samples).toHaveLength(MAX_SAMPLES);
    expect(next.samples[MAX_SAMPLES - 1]).toBe(60);
  });
});

describe('finishingSoon', () => {
  const short = Array.from({ length: 20 }, () => 100);
  const long = Array.from({ length: 20 }, () => 1000);

  test('a busy worker counts when most past runs as long as its own so far ended within the horizon', () => {
    // Runs take 100 s; this one has run 60 s: 40 s left, within 75 s.
    expect(finishingSoon(learnt(short, { w1: NOW - 60 }), workers(worker('w1', true)), NOW, 75)).toBe(1);
    // Just started: 100 s left, beyond 75 s.
    expect(finishingSoon(learnt(short, { w1: NOW - 1 }), workers(worker('w1', true)), NOW, 75)).toBe(0);
  });

  test('a run longer than every sample, an unknown start, a drained worker, or too few samples never count', () => {
    expect(finishingSoon(learnt(short, { w1: NOW - 500 }), workers(worker('w1', true)), NOW, 75)).toBe(0);
    expect(finishingSoon(learnt(short, {}), workers(worker('w1', true)), NOW, 75)).toBe(0);
    expect(finishingSoon(learnt(short, { w1: NOW - 60 }), workers(worker('w1', true, { drained: true })), NOW, 75)).toBe(0);
    expect(finishingSoon(learnt(short.slice(0, MIN_SAMPLES - 1), { w1: NOW - 60 }), workers(worker('w1', true)), NOW, 75)).toBe(0);
    expect(finishingSoon(learnt(short, { w1: NOW - 60 }), workers(worker('w1', true)), NOW, 0)).toBe(0);
  });

  test('half the runs short and half long: counted at exactly half (more likely than not, ties included)', () => {
    expect(finishingSoon(learnt([...short, ...long], { w1: NOW - 60 }), workers(worker('w1', true)), NOW, 75)).toBe(1);
    expect(finishingSoon(learnt([...short, ...long, 1000], { w1: NOW - 60 }), workers(worker('w1', true)), NOW, 75)).toBe(0);
  });
});
