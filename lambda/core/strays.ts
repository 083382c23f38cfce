import type { StrayInstance } from './capacity';

/** An instance to terminate without decrementing desired capacity, so the ASG replaces it. */
export interface StrayTermination {
  readonly instanceId: string;
  readonly launchTime: number;
}

/**
 * Oldest strays first, at most `cap`. Scale-in protection is not honoured here: a stray does no
 * work, and replacing it is a repair, not a scale-in.
 */
export function planStrays(
  strays: readonly StrayInstance[],
  cap: number,
  graceSeconds: number,
  now: number,
): { strays: StrayTermination[]; reasons: string[] } {
  const chosen = strays.slice(0, cap);
  const reasons = chosen.map(
    ({ instance, launchTime }) =>
      `stray ${instance.id} (${instance.lifecycleState}) has no worker ${now - launchTime}s after launch ` +
        `(grace ${graceSeconds}s); terminate without decrement so the ASG replaces it`,
  );
  if (strays.length > chosen.length) {
    reasons.push(`${strays.length - chosen.length} more strays left for later ticks (maxStraysPerTick ${cap})`);
  }
  return { strays: chosen.map(({ instance, launchTime }) => ({ instanceId: instance.id, launchTime })), reasons };
}
