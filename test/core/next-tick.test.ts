import type { Plan, PlanCounts } from '../../lambda/core/decide';
import { nextTick, type PollWhen } from '../../lambda/core/next-tick';

const NOW = 1_700_000_000;

function plan(counts: Partial<PlanCounts>, extra: { readFailure?: string; nextScaleInAt?: number; moreDue?: boolean } = {}): Plan {
  return { counts: { pending: 0, busy: 0, minIdle: 0, finishingSoon: 0, ...counts }, moreDue: false, ...extra } as unknown as Plan;
}

describe('nextTick', () => {
  test.each<[string, Plan, PollWhen, string]>([
    ['a quiet pool ends the invocation', plan({}), 'needed', 'none'],
    ['busy workers alone end it: their runs need no action', plan({ busy: 4 }), 'needed', 'none'],
    ['queued runs alone end it by default: the next invocation looks again', plan({ pending: 3 }), 'needed', 'none'],
    ['queued runs keep polling with pollWhen queued', plan({ pending: 3 }), 'queued', 'poll'],
    ['pollWhen queued still ends a quiet pool', plan({ busy: 2 }), 'queued', 'none'],
    ['a minimum idle floor keeps polling', plan({ minIdle: 1 }), 'needed', 'poll'],
    ['a read that looked wrong is read again', plan({}, { readFailure: 'every worker vanished' }), 'needed', 'poll'],
    ['pollWhen always polls a quiet pool', plan({}), 'always', 'poll'],
    ['an idle worker due for scale-in gets a tick at that time', plan({}, { nextScaleInAt: NOW + 20 }), 'needed', 'at'],
    ['busy workers standing in for launches are checked again', plan({ pending: 1, finishingSoon: 1 }), 'needed', 'poll'],
    ['a cap that left work keeps polling', plan({}, { moreDue: true }), 'needed', 'poll'],
  ])('%s', (_name, input, mode, kind) => {
    expect(nextTick(input, mode).kind).toBe(kind);
  });

  test('the tick for a scale-in is at the moment the worker becomes eligible', () => {
    expect(nextTick(plan({}, { nextScaleInAt: NOW + 20 }), 'needed')).toEqual({
      kind: 'at',
      at: NOW + 20,
      reason: 'an idle worker becomes eligible for scale-in',
    });
  });
});
