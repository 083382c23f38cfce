/**
 * Whether an invocation should tick again before the next scheduled one, and when.
 *
 * Lambda bills an invocation for its whole duration, the sleeps between ticks included: a 50 s loop at 256 MB (arm64)
 * is 12.5 GB-seconds a minute, about half of an on-demand t3.small's price, every hour, all month. So by default the
 * loop ticks again only when a tick is due for a reason it knows of:
 * - an idle worker's scale-down delay runs out within the loop: tick at that moment and release it, rather than
 *   paying for the instance until the next invocation;
 * - a minimum idle floor is set: a run that takes an idle worker must be replaced at once (the floor is paid for
 *   speed, so its Lambda time is too);
 * - busy workers predicted to free up stand in for launches (run-durations.ts): look again soon, in case they do not;
 * - a cap (maxTerminatePerTick, maxStraysPerTick) left idle workers to release or strays to replace;
 * - the last read looked wrong, a tick failed, or an undrain waits for a retry.
 * Otherwise the invocation ends after one tick and the schedule (every minute) is the next look, as for Spacelift's
 * own autoscaler. In the simulator (BENCHMARKS.md §3) polling every 15 s while runs are queued (`'queued'`) shortens
 * the mean wait by about 3 s and costs about 5% more over the tuning traces.
 */
import type { Plan } from './decide';

/**
 * When to tick within an invocation:
 * - `'needed'`: as above (the default);
 * - `'queued'`: also every poll interval while runs are queued (more usually follow in a burst);
 * - `'always'`: every poll interval for the whole loop.
 */
export type PollWhen = 'needed' | 'queued' | 'always';

export const POLL_WHEN_MODES: readonly PollWhen[] = ['needed', 'queued', 'always'];

export type NextTick =
  | { readonly kind: 'poll'; readonly reason: string }
  | { readonly kind: 'at'; readonly at: number; readonly reason: string }
  | { readonly kind: 'none'; readonly reason: string };

export function nextTick(plan: Plan, mode: PollWhen): NextTick {
  const { counts } = plan;
  if (mode === 'always') return { kind: 'poll', reason: 'polling every interval (pollWhen always)' };
  if (plan.readFailure !== undefined) return { kind: 'poll', reason: 'the last read looked wrong: read again' };
  if (counts.minIdle > 0) return { kind: 'poll', reason: `keeping ${counts.minIdle} idle workers` };
  if (counts.finishingSoon > 0) {
    return { kind: 'poll', reason: `${counts.finishingSoon} busy workers stand in for launches: check they free up` };
  }
  if (plan.moreDue) return { kind: 'poll', reason: 'a per-tick cap left workers to release or strays to replace' };
  if (mode === 'queued' && counts.pending > 0) return { kind: 'poll', reason: `${counts.pending} runs queued` };
  if (plan.nextScaleInAt !== undefined) {
    return { kind: 'at', at: plan.nextScaleInAt, reason: 'an idle worker becomes eligible for scale-in' };
  }
  return { kind: 'none', reason: 'nothing due before the next scheduled invocation' };
}
