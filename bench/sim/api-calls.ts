/**
 * The API calls an autoscaler makes against the simulated world, with latency and fault injection.
 *
 * - Server-side effects of a call happen when its reply arrives (`latency` after it is sent). A killed
 *   process never sees the reply, but the effect still happens.
 * - A failed call takes `failureLatency`; a failed mutating call was applied anyway with probability
 *   `appliedOnFailure` (the reply was lost). Spacelift failures surface as the adapter's
 *   SpaceliftApiError (timeout or HTTP 429), AWS failures as a timeout or throttling error.
 */
import { SpaceliftApiError } from '../../lambda/spacelift/errors';
import type { EventLoop, Process } from './event-loop';
import type { Faults, SimModel } from './model';
import type { Rng } from './rng';
import type { WorldStats } from './world-stats';

export type Service = 'spacelift' | 'aws';

export class AwsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Whether new faults may start at `now` (before `faults.until`). */
export function faultsActive(faults: Faults, now: number): boolean {
  return faults.until === undefined || now < faults.until;
}

export class ApiCalls {
  private readonly scripted: { op: string; applied: boolean }[] = [];

  constructor(
    private readonly loop: EventLoop,
    private readonly model: SimModel,
    private readonly rng: Rng,
    private readonly stats: WorldStats,
  ) {}

  /** Makes the next call of `op` fail (for tests); `applied` means the server acted anyway. */
  scriptFailure(op: string, applied: boolean): void {
    this.scripted.push({ op, applied });
  }

  /**
   * An API call by `proc`: `effect` runs on the server when the reply arrives. Fault injection may
   * fail it (and maybe apply it anyway when `mutating`).
   */
  call<T>(proc: Process, service: Service, op: string, effect: () => T, mutating: boolean): Promise<T> {
    const { loop, stats } = this;
    stats.calls[service]++;
    stats.callsByOp[op] = (stats.callsByOp[op] ?? 0) + 1;
    const faults = this.model.faults;
    const scriptIndex = this.scripted.findIndex((entry) => entry.op === op);
    const script = scriptIndex < 0 ? undefined : this.scripted.splice(scriptIndex, 1)[0];
    const fail = script !== undefined || (faultsActive(faults, loop.now) && this.rng.chance(faults.callFailureRate));
    const applied = script !== undefined ? script.applied : fail && mutating && this.rng.chance(faults.appliedOnFailure);
    const ambiguous = script !== undefined ? true : fail && (applied || this.rng.chance(0.5));
    const latency = fail ? faults.failureLatency : this.model.latency[service];
    return new Promise<T>((resolve, reject) => {
      loop.at(loop.now + latency, () => {
        let outcome: { ok: true; value: T } | { ok: false; error: unknown };
        if (fail) {
          stats.failedCalls++;
          if (applied) {
            try {
              effect();
            } catch {
              // The server refused it anyway; the caller sees the transport failure either way.
            }
          }
          outcome = { ok: false, error: transportError(service, op, ambiguous) };
        } else {
          try {
            outcome = { ok: true, value: effect() };
          } catch (error) {
            if (error instanceof AwsError && error.name === 'ValidationError') {
              stats.validationErrors[op] = (stats.validationErrors[op] ?? 0) + 1;
            }
            outcome = { ok: false, error };
          }
        }
        if (!proc.alive) return false;
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
        return true;
      });
    });
  }
}

function transportError(service: Service, op: string, ambiguous: boolean): Error {
  if (service === 'spacelift') {
    return ambiguous
      ? new SpaceliftApiError('timeout', `${op}: request timed out (simulated)`, { retryable: true, operation: op })
      : new SpaceliftApiError('http', `${op}: HTTP 429 (simulated)`, { retryable: true, operation: op, status: 429 });
  }
  return ambiguous
    ? new AwsError('TimeoutError', `${op}: socket timed out (simulated)`)
    : new AwsError('ThrottlingException', `${op}: Rate exceeded (simulated)`);
}
