/**
 * How long a worker must have been idle before scale-in may pick it.
 *
 * Cost model behind `breakEven`: an idle worker costs one instance-second per second; releasing it
 * and later booting a replacement costs about `bootSeconds` of instance time that does no work
 * (plus the same time of queue latency for the run that waits). If runs reach this worker at a
 * rate r (Poisson), the expected cost of waiting t before releasing is
 * (1 - e^(-rt))/r + boot * e^(-rt), which falls with t exactly when r * boot > 1. The optimum is
 * bang-bang (release at once or keep indefinitely) around r = 1/boot, but r is a noisy estimate
 * and traffic is bursty, so the rule hedges linearly:
 *
 *   delay = clamp(boot * (r * boot), min, max)
 *
 * At the break-even rate it keeps a worker for exactly one boot time (the classic ski-rental
 * choice, never worse than twice the optimum); frequent arrivals keep workers longer, rare ones
 * release them sooner, but never sooner than `min`. The pool-wide arrival rate is shared by all
 * idle workers (Spacelift schedules onto the newest idle worker, so the oldest idle worker,
 * the one scale-in picks, sees the least of it): r = poolRate / idleWorkers. After a burst
 * (drift detection) many workers go idle at once, r per worker collapses and they are released
 * near `min`; a fixed keep-alive would keep every one of them for the whole delay.
 */

export interface DelayContext {
  /** Pool-wide run arrivals per second (`arrivalRate`); undefined while unknown. */
  readonly arrivalsPerSecond: number | undefined;
  /** Idle, undrained workers in the whole pool, among which the arrivals are shared. */
  readonly idleWorkers: number;
}

export interface BreakEvenOptions {
  /** Instance time lost by releasing a worker and booting a new one later. */
  readonly bootSeconds?: number;
  /** Floor: covers the gap between chained runs (a finished run triggering its dependants). */
  readonly minSeconds?: number;
  /** Ceiling: bounds what an overestimated arrival rate can cost. */
  readonly maxSeconds?: number;
}

export type ScaleDownDelaySpec =
  | { readonly kind: 'fixed'; readonly seconds: number }
  | { readonly kind: 'breakEven'; readonly bootSeconds: number; readonly minSeconds: number; readonly maxSeconds: number };

/**
 * Defaults for `breakEven`:
 * - boot 120 s: launch, boot, launcher download and registration typically take 1.5-3 minutes;
 * - min 30 s: two 15 s ticks, enough for a dependent stack's run to be queued after the run that
 *   triggered it finishes, so chains do not pay a boot per link. Measured (BENCHMARKS.md §3, 7
 *   traces, maxTerminatePerTick 5): min 30 costs 82.37 instance-hours against 82.31 for min 15 and
 *   83.57 for min 60, with the same mean wait (66.9 s) and queue-hours (10.95) as min 15. Min 15
 *   is within 0.1% of it, but 30 s leaves margin for dependency triggers slower than the traces';
 * - max 600 s: five boots; beyond that a wrong rate estimate costs more than the boots it saves.
 */
export const DEFAULT_BREAK_EVEN = Object.freeze({ bootSeconds: 120, minSeconds: 30, maxSeconds: 600 });

const FORMAT_HELP = 'expected "fixed:<seconds>" or "breakEven[:boot=<seconds>,min=<seconds>,max=<seconds>]"';

function requireInteger(value: number, field: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${field} must be an integer >= ${minimum}, got ${value}`);
  }
}

export class ScaleDownDelay {
  /** Always the same delay, like Spacelift's `AUTOSCALING_SCALE_DOWN_DELAY` (but in seconds). */
  static fixed(seconds: number): ScaleDownDelay {
    requireInteger(seconds, 'scaleDownDelay.seconds', 0);
    return new ScaleDownDelay({ kind: 'fixed', seconds });
  }

  /** The arrival-rate-aware break-even rule described at the top of this file. */
  static breakEven(options: BreakEvenOptions = {}): ScaleDownDelay {
    const bootSeconds = options.bootSeconds ?? DEFAULT_BREAK_EVEN.bootSeconds;
    const minSeconds = options.minSeconds ?? DEFAULT_BREAK_EVEN.minSeconds;
    const maxSeconds = options.maxSeconds ?? DEFAULT_BREAK_EVEN.maxSeconds;
    requireInteger(bootSeconds, 'scaleDownDelay.bootSeconds', 1);
    requireInteger(minSeconds, 'scaleDownDelay.minSeconds', 0);
    requireInteger(maxSeconds, 'scaleDownDelay.maxSeconds', minSeconds);
    return new ScaleDownDelay({ kind: 'breakEven', bootSeconds, minSeconds, maxSeconds });
  }

  private constructor(readonly spec: ScaleDownDelaySpec) {}

  /** The delay in whole seconds for this tick. */
  secondsFor(context: DelayContext): number {
    const spec = this.spec;
    if (spec.kind === 'fixed') return spec.seconds;
    if (context.arrivalsPerSecond === undefined) {
      // No estimate yet: neutral, as if runs arrived exactly at the break-even rate.
      return Math.min(spec.maxSeconds, Math.max(spec.minSeconds, spec.bootSeconds));
    }
    const perWorkerRate = context.arrivalsPerSecond / Math.max(1, context.idleWorkers);
    const delay = spec.bootSeconds * spec.bootSeconds * perWorkerRate;
    return Math.round(Math.min(spec.maxSeconds, Math.max(spec.minSeconds, delay)));
  }

  /** One line for the plan's reasons. */
  explain(context: DelayContext): string {
    const seconds = this.secondsFor(context);
    if (this.spec.kind === 'fixed') return `scale-down delay ${seconds}s (fixed)`;
    const rate = context.arrivalsPerSecond === undefined
      ? 'arrival rate unknown, neutral'
      : `${(context.arrivalsPerSecond * 3600).toFixed(1)} runs/h shared by ${Math.max(1, context.idleWorkers)} idle`;
    return `scale-down delay ${seconds}s (${this.toString()}; ${rate})`;
  }

  /** The canonical text form; `parseScaleDownDelay` reads it back. */
  toString(): string {
    const spec = this.spec;
    return spec.kind === 'fixed'
      ? `fixed:${spec.seconds}`
      : `breakEven:boot=${spec.bootSeconds},min=${spec.minSeconds},max=${spec.maxSeconds}`;
  }
}

const BREAK_EVEN_KEYS = { boot: 'bootSeconds', min: 'minSeconds', max: 'maxSeconds' } as const;

function parseSeconds(text: string, source: string): number {
  if (!/^\d+$/.test(text)) {
    throw new Error(`scale-down delay "${source}": "${text}" is not a whole number of seconds; ${FORMAT_HELP}`);
  }
  return Number(text);
}

/**
 * Reads a delay from an environment string: `fixed:300`, `breakEven`, or
 * `breakEven:boot=150,min=30,max=900` (any subset of the keys; the rest default).
 */
export function parseScaleDownDelay(text: string): ScaleDownDelay {
  const source = text.trim();
  const [kind, args, ...extra] = source.split(':');
  if (extra.length > 0) throw new Error(`scale-down delay "${source}": ${FORMAT_HELP}`);
  if (kind === 'fixed' && args !== undefined) {
    return ScaleDownDelay.fixed(parseSeconds(args, source));
  }
  if (kind === 'breakEven') {
    const options: Record<string, number> = {};
    for (const pair of args === undefined || args === '' ? [] : args.split(',')) {
      const [key, value, ...rest] = pair.split('=');
      const field = Object.hasOwn(BREAK_EVEN_KEYS, key) ? BREAK_EVEN_KEYS[key as keyof typeof BREAK_EVEN_KEYS] : undefined;
      if (field === undefined || value === undefined || rest.length > 0 || field in options) {
        throw new Error(`scale-down delay "${source}": bad option "${pair}"; ${FORMAT_HELP}`);
      }
      options[field] = parseSeconds(value, source);
    }
    return ScaleDownDelay.breakEven(options);
  }
  throw new Error(`scale-down delay "${source}": ${FORMAT_HELP}`);
}
