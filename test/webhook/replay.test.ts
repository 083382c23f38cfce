import { freshness, FUTURE_TOLERANCE_SECONDS, RecentDigests } from '../../lambda/webhook/replay';

const NOW = 1_800_000_000;

describe('RecentDigests', () => {
  test('remembers a digest for the window, then forgets it', () => {
    const recent = new RecentDigests(300);
    recent.remember('a', NOW);
    expect(recent.has('a', NOW + 300)).toBe(true);
    expect(recent.has('a', NOW + 301)).toBe(false);
    expect(recent.size).toBe(0);
  });

  test('forgets expired digests oldest first, keeping the rest', () => {
    const recent = new RecentDigests(300);
    recent.remember('a', NOW);
    recent.remember('b', NOW + 100);
    expect(recent.has('b', NOW + 350)).toBe(true);
    expect(recent.has('a', NOW + 350)).toBe(false);
    expect(recent.size).toBe(1);
  });

  test('is bounded: beyond its capacity the oldest digests are forgotten first', () => {
    const recent = new RecentDigests(300, 3);
    for (const [i, digest] of ['a', 'b', 'c', 'd', 'e'].entries()) recent.remember(digest, NOW + i);
    expect(recent.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((d) => recent.has(d, NOW + 5))).toEqual([false, false, true, true, true]);
  });
});

describe('freshness', () => {
  test.each([
    [{}, 'fresh'],
    [{ timestamp: NOW }, 'fresh'],
    [{ timestamp: NOW - 300 }, 'fresh'],
    [{ timestamp: NOW - 300.5 }, 'stale'],
    [{ timestamp: NOW + FUTURE_TOLERANCE_SECONDS }, 'fresh'],
    [{ timestamp: NOW + FUTURE_TOLERANCE_SECONDS + 1 }, 'future'],
    [{ timestamp: Number.NaN }, 'invalid'],
    [{ timestamp: '1800000000' }, 'invalid'],
    [{ run: { timestamp: 1 } }, 'fresh'],
  ])('%o is %s', (body, expected) => {
    expect(freshness(body, NOW, 300)).toBe(expected);
  });
});
