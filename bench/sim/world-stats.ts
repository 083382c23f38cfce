/** Counters the simulated world keeps, each part of it its own (reported as `SimResult.world`). */
import type { Service } from './api-calls';

export interface WorldStats {
  /** Calls sent, by service and by operation. */
  readonly calls: Record<Service, number>;
  readonly callsByOp: Record<string, number>;
  failedCalls: number;
  /** AWS ValidationErrors by operation (a policy asking for something AWS refuses). */
  readonly validationErrors: Record<string, number>;
  launches: number;
  warmLaunches: number;
  /** SetDesiredCapacity calls that raised desired capacity. */
  scaleOutCalls: number;
  /** SetDesiredCapacity calls that lowered it (AWS picks the victims). */
  scaleDownCalls: number;
  /** Terminations with decrement requested by the policy. */
  scaleInTerminations: number;
  /** Terminations without decrement (stray replacement). */
  replaceTerminations: number;
  /** Instances the ASG itself picked to terminate because desired dropped below live. */
  asgScaleInVictims: number;
  /** Terminations (any cause but death) that began while the instance's worker was busy. */
  busyTerminated: number;
  /** Runs that never finished because their instance went away mid-run. */
  runsKilled: number;
  deaths: number;
  bootFailures: number;
  /** Desired capacity seen outside [min, max] (should never happen: AWS refuses such requests). */
  desiredOutOfRange: number;
  /** Pool snapshots that omitted some or all workers (fault). */
  badReads: number;
  /** Instance-seconds spent preparing warm-pool instances. */
  warmPrepareSeconds: number;
  /** Instance-seconds warm-pool instances spent stopped, from trace time 0 to the last change of the pool. */
  warmStoppedSeconds: number;
}

export function emptyWorldStats(): WorldStats {
  return {
    calls: { spacelift: 0, aws: 0 },
    callsByOp: {},
    failedCalls: 0,
    validationErrors: {},
    launches: 0,
    warmLaunches: 0,
    scaleOutCalls: 0,
    scaleDownCalls: 0,
    scaleInTerminations: 0,
    replaceTerminations: 0,
    asgScaleInVictims: 0,
    busyTerminated: 0,
    runsKilled: 0,
    deaths: 0,
    bootFailures: 0,
    desiredOutOfRange: 0,
    badReads: 0,
    warmPrepareSeconds: 0,
    warmStoppedSeconds: 0,
  };
}
