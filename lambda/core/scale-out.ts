import type { AsgSnapshot } from './types';

export interface ScaleOut {
  /** New desired capacity; undefined = leave it. Always above the current desired and within [min, max]. */
  readonly desiredCapacity?: number;
  readonly reasons: readonly string[];
}

/**
 * Raises desired capacity by the gap between demand and capacity, capped per tick and by max size.
 * Also repairs a desired capacity below min size. Never lowers desired capacity: shrinking happens
 * only by terminating chosen, drained instances.
 */
export function planScaleOut(
  asg: AsgSnapshot,
  capacity: number,
  demand: number,
  maxCreatePerTick: number | undefined,
): ScaleOut {
  const { minSize: min, maxSize: max, desiredCapacity: desired } = asg;
  if (min > max) {
    return { reasons: [`no desired change: the ASG reports min size ${min} above max size ${max}`] };
  }
  const gap = demand - capacity;
  const step = Math.max(0, Math.min(gap, maxCreatePerTick ?? gap));
  const target = Math.max(min, Math.min(max, desired + step));
  if (target <= desired) {
    if (gap <= 0) return { reasons: [`no scale out: capacity ${capacity} covers demand ${demand}`] };
    return { reasons: [`no scale out: ${gap} short but desired ${desired} is at or above max size ${max}`] };
  }

  const reasons: string[] = [];
  if (desired < min) reasons.push(`desired ${desired} is below min size ${min}; raising it to at least ${min}`);
  if (step > 0) {
    const caps = [
      step < gap ? `capped by maxCreatePerTick ${maxCreatePerTick}` : '',
      desired + step > max ? `capped by max size ${max}` : '',
    ].filter((cap) => cap !== '');
    const capped = caps.length > 0 ? ` (${caps.join(', ')})` : '';
    reasons.push(`scale out: demand ${demand} exceeds capacity ${capacity} by ${gap}${capped}`);
  }
  reasons.push(`set desired capacity ${desired} -> ${target}`);
  return { desiredCapacity: target, reasons };
}
