import type { StrayInstance } from './capacity';
import type { Worker } from './types';

/** An instance to terminate without decrementing desired capacity, so the ASG replaces it. */
export interface StrayTermination {
  readonly instanceId: string;
  readonly launchTime: number;
}

/**
 * Whether a worker with invalid metadata may be running on an instance launched at `launchTime`:
 * we cannot tell which instance such a worker is on, but it cannot predate its own instance. Busy
 * and drained ones count too (a drained worker may still finish a run). Of an instance whose launch
 * time is unknown, any such worker may be.
 */
export function invalidWorkerMayRunOn(launchTime: number | undefined, workers: readonly Worker[]): boolean {
  return workers.some((worker) => !worker.metadata.valid && (launchTime === undefined || worker.createdAt >= launchTime));
}

/** How many instance ids a reason line lists before it abbreviates. */
const LISTED_IDS = 5;

/**
 * Oldest strays first, at most `cap`. Scale-in protection is not honoured here: a stray does no
 * work, and replacing it is a repair, not a scale-in. A stray that a worker with invalid metadata
 * may be running on is kept (and does not use up the cap): terminating it could kill a run. It
 * still counts as a stray in the capacity figures, so scale-in waits while the doubt lasts.
 */
export function planStrays(
  strays: readonly StrayInstance[],
  options: { readonly cap: number; readonly graceSeconds: number; readonly reap: boolean },
  now: number,
  workers: readonly Worker[],
): { strays: StrayTermination[]; left: number; reasons: string[] } {
  const { cap, graceSeconds } = options;
  if (!options.reap && strays.length > 0) {
    return {
      strays: [],
      left: 0,
      reasons: [`${strays.length} strays kept: reapStrays is off (powerOffOnError false keeps failed instances)`],
    };
  }
  const kept: StrayInstance[] = [];
  const reapable: StrayInstance[] = [];
  for (const stray of strays) (invalidWorkerMayRunOn(stray.launchTime, workers) ? kept : reapable).push(stray);
  const chosen = reapable.slice(0, cap);
  const reasons = chosen.map(
    ({ instance, launchTime }) =>
      `stray ${instance.id} (${instance.lifecycleState}) has no worker ${now - launchTime}s after launch ` +
        `(grace ${graceSeconds}s); terminate without decrement so the ASG replaces it`,
  );
  if (reapable.length > chosen.length) {
    reasons.push(`${reapable.length - chosen.length} more strays left for later ticks (maxStraysPerTick ${cap})`);
  }
  if (kept.length > 0) {
    const ids = kept.slice(0, LISTED_IDS).map(({ instance }) => instance.id);
    const more = kept.length > LISTED_IDS ? `, ${kept.length - LISTED_IDS} more` : '';
    reasons.push(
      `${kept.length} strays kept (${ids.join(', ')}${more}): a worker with invalid metadata registered at or ` +
        'after their launch and may be running on them',
    );
  }
  return {
    strays: chosen.map(({ instance, launchTime }) => ({ instanceId: instance.id, launchTime })),
    left: reapable.length - chosen.length,
    reasons,
  };
}
