import { coverQueue, type QueueCoverInput } from '../../lambda/core/queue-cover';

const NOW = 1_700_000_000;
const input = (fields: Partial<QueueCoverInput>): QueueCoverInput =>
  ({ queued: 1, predicted: 1, horizonSeconds: 60, readFailed: false, now: NOW, ...fields });

describe('coverQueue', () => {
  test('predictions stand in for launches, at most one per queued run, and start the clock', () => {
    expect(coverQueue(input({ queued: 2, predicted: 3 }))).toMatchObject({ soon: 2, coveredSince: NOW });
    expect(coverQueue(input({ queued: 3, predicted: 1 }))).toMatchObject({ soon: 1, coveredSince: NOW });
  });

  test('after one horizon of covering a non-empty queue, queued runs get launches instead', () => {
    expect(coverQueue(input({ coveredSince: NOW - 59 })).soon).toBe(1);
    const expired = coverQueue(input({ coveredSince: NOW - 60 }));
    expect(expired).toMatchObject({ soon: 0, coveredSince: NOW - 60 });
    expect(expired.reasons[0]).toMatch(/covered queued runs for 60s: launching for them instead/);
  });

  test('the clock runs until the queue is seen empty, or no prediction is left', () => {
    expect(coverQueue(input({ queued: 0, coveredSince: NOW - 30 }))).toEqual({ soon: 0, reasons: [] });
    expect(coverQueue(input({ predicted: 0, coveredSince: NOW - 30 }))).toEqual({ soon: 0, reasons: [] });
  });

  test('a failed read counts nothing and keeps the clock', () => {
    expect(coverQueue(input({ readFailed: true, coveredSince: NOW - 30 }))).toEqual({ soon: 0, coveredSince: NOW - 30, reasons: [] });
  });

  test('a queue covered tick after tick gets its launch one horizon after the first tick', () => {
    let coveredSince: number | undefined;
    const launchesAt: number[] = [];
    for (let t = 0; t <= 120; t += 15) {
      const cover = coverQueue(input({ now: NOW + t, coveredSince }));
      coveredSince = cover.coveredSince;
      if (cover.soon === 0) launchesAt.push(t);
    }
    expect(launchesAt[0]).toBe(60);
  });
});
