/** API calls per simulated hour: what a setting costs in Spacelift and AWS API load (rate limits, throttling). */
import type { SimResult } from './engine';

/** Spacelift plus AWS calls over the simulated time (`endTime`), per hour; 0 for an empty simulation. */
export function callsPerHour(result: Pick<SimResult, 'calls' | 'endTime'>): number {
  if (result.endTime <= 0) return 0;
  return ((result.calls.spacelift + result.calls.aws) * 3600) / result.endTime;
}
