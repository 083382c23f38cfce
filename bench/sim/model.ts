/**
 * The simulated environment: how long instances take to boot, how slow and unreliable the API calls
 * are, and which faults happen. Policies are configured separately (policies/*.ts).
 */

/** Seconds drawn per instance launch. */
export type Distribution =
  | { readonly kind: 'fixed'; readonly value: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  | { readonly kind: 'empirical'; readonly values: readonly number[] };

const DISTRIBUTION_HELP = 'expected "<seconds>", "fixed:<s>", "uniform:<min>-<max>" or "empirical:<s>,<s>,..."';

function seconds(text: string, source: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(`distribution "${source}": "${text}" is not a number of seconds >= 0; ${DISTRIBUTION_HELP}`);
  }
  return value;
}

/** `90`, `fixed:90`, `uniform:60-180`, `empirical:75,90,90,140`. */
export function parseDistribution(text: string): Distribution {
  const source = text.trim();
  const colon = source.indexOf(':');
  const kind = colon < 0 ? 'fixed' : source.slice(0, colon);
  const args = colon < 0 ? source : source.slice(colon + 1);
  switch (kind) {
    case 'fixed':
      return { kind: 'fixed', value: seconds(args, source) };
    case 'uniform': {
      const parts = args.split('-');
      if (parts.length !== 2) throw new Error(`distribution "${source}": ${DISTRIBUTION_HELP}`);
      const [min, max] = parts.map((part) => seconds(part, source));
      if (max < min) throw new Error(`distribution "${source}": max ${max} is below min ${min}`);
      return { kind: 'uniform', min, max };
    }
    case 'empirical': {
      const values = args.split(',').map((part) => seconds(part, source));
      return { kind: 'empirical', values };
    }
    default:
      throw new Error(`distribution "${source}": unknown kind "${kind}"; ${DISTRIBUTION_HELP}`);
  }
}

/** The value for a uniform draw `u` in [0, 1). */
export function sample(distribution: Distribution, u: number): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value;
    case 'uniform':
      return distribution.min + (distribution.max - distribution.min) * u;
    case 'empirical':
      return distribution.values[Math.min(distribution.values.length - 1, Math.floor(u * distribution.values.length))];
  }
}

export function minimumOf(distribution: Distribution): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value;
    case 'uniform':
      return distribution.min;
    case 'empirical':
      return Math.min(...distribution.values);
  }
}

export function meanOf(distribution: Distribution): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value;
    case 'uniform':
      return (distribution.min + distribution.max) / 2;
    case 'empirical':
      return distribution.values.reduce((a, b) => a + b, 0) / distribution.values.length;
  }
}

export function describeDistribution(distribution: Distribution): string {
  switch (distribution.kind) {
    case 'fixed':
      return `${distribution.value}s`;
    case 'uniform':
      return `uniform ${distribution.min}-${distribution.max}s`;
    case 'empirical':
      return `empirical [${distribution.values.join(', ')}]s`;
  }
}

/** One-way-and-back latency of each kind of call, in seconds. */
export interface Latencies {
  /** Any Spacelift GraphQL call (pool snapshot, workerDrainSet, token exchange). */
  readonly spacelift: number;
  /** Any Auto Scaling or EC2 API call. */
  readonly aws: number;
}

export interface Faults {
  /** Probability that any one API call fails. */
  readonly callFailureRate: number;
  /** Probability that a failed mutating call was applied anyway (a timeout after the server acted). */
  readonly appliedOnFailure: number;
  /** How long a failed call takes before the caller sees the error (client timeout and retries). */
  readonly failureLatency: number;
  /** Abrupt instance deaths per instance-hour (hardware, spot, OOM of the launcher then poweroff). */
  readonly deathsPerInstanceHour: number;
  /** Probability that a launched instance never registers a worker (bad token, no egress). */
  readonly bootFailureRate: number;
  /** Autoscaler Lambda cold starts per hour (in-memory state is lost). */
  readonly coldStartsPerHour: number;
  /** Probability that a pool snapshot omits all workers (half of the cases) or a random part of them. Default 0. */
  readonly badReadRate?: number;
  /** Probability that a launched instance's worker registers with invalid metadata. Default 0. */
  readonly invalidMetadataRate?: number;
  /**
   * Every worker registers with invalid metadata, initial ones included, for the whole run (not limited by
   * `until`): a launcher or custom AMI that writes none. Default false.
   */
  readonly allMetadataInvalid?: boolean;
  /** No new fault starts after this many seconds from trace start; undefined = never stops. */
  readonly until?: number;
}

export const NO_FAULTS: Faults = Object.freeze({
  callFailureRate: 0,
  appliedOnFailure: 0.5,
  failureLatency: 5,
  deathsPerInstanceHour: 0,
  bootFailureRate: 0,
  coldStartsPerHour: 0,
});

/**
 * Start time of a warm-pool instance, launch request to worker registered: the instance start plus what the
 * bootstrap does at start (read the secrets, download and verify the launcher). Public reports of warm starts
 * range from 10 to 30 s (philips-labs/terraform-aws-github-runner PR #5204); 30 s is the top of that range,
 * because our start still downloads the launcher.
 */
export const DEFAULT_WARM_START_SECONDS = 30;

/**
 * Cost of a stopped instance-hour relative to a running one: its EBS volume only. For the library's defaults in
 * us-east-1: a 40 GiB gp3 root volume at $0.08 per GiB-month is $3.20 a month, $0.00438 an hour over 730 hours,
 * against $0.0208 an hour for an on-demand t3.small: 0.00438 / 0.0208 = 0.21. (The sim bills a running instance
 * its compute only, as it always has; its volume is the same whichever policy runs it.)
 * @see https://aws.amazon.com/ec2/pricing/on-demand/
 * @see https://aws.amazon.com/ebs/pricing/
 */
export const DEFAULT_STOPPED_COST_RATIO = 0.21;

/**
 * An Auto Scaling warm pool of stopped instances whose minimum size and maximum prepared capacity are equal, as
 * the library configures it: AWS keeps exactly `size` instances in it, launching a replacement for each one a
 * scale-out takes (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
 * Instances are never returned to it on scale-in.
 */
export interface WarmPool {
  /** Stopped, pre-initialised instances kept ready. */
  readonly size: number;
  /** Launch-to-registered time for an instance taken from the warm pool (see DEFAULT_WARM_START_SECONDS). */
  readonly resumeSeconds: number;
  /** Cost of a stopped instance-second in running instance-seconds (see DEFAULT_STOPPED_COST_RATIO). */
  readonly stoppedCostRatio: number;
}

export interface SimModel {
  /** Launch to worker registered with Spacelift. */
  readonly boot: Distribution;
  /** Launch to ASG `InService` (capped by the boot time): EC2 running plus health check. */
  readonly inServiceSeconds: number;
  /** Terminate request to the instance being gone (shutdown, lifecycle hook completion); billed. */
  readonly terminateSeconds: number;
  /** How long the ASG takes to notice a dead instance and replace it. */
  readonly healthCheckSeconds: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** Instances running (idle, registered) when the trace starts; at least minSize. */
  readonly initialInstances: number;
  readonly latency: Latencies;
  /** Termination lifecycle hook with a drain handler (this library, and Spacelift's module v8+). */
  readonly lifecycleHook: boolean;
  /** Whether the pool snapshot carries `availableAt` (idle-since). */
  readonly availableAt: boolean;
  readonly warmPool?: WarmPool;
  readonly faults: Faults;
  readonly seed: number;
  /** Epoch seconds of trace time 0 (scheduled floors use wall-clock time). */
  readonly epoch: number;
  /**
   * Once every run has finished, the simulation ends when the fleet has been steady this long: nothing
   * launching or terminating, no drained worker, desired capacity, billed instances and the warm pool
   * unchanged. It is billed up to the start of that quiet time (engine.ts).
   */
  readonly quietSeconds: number;
  /** The simulation stops at the latest this long after the last run could have finished if the fleet never settles. */
  readonly settleLimitSeconds: number;
  /**
   * The autoscalers run this long before the trace starts (an empty, quiet pool), as a deployed
   * autoscaler has been ticking all along: our arrival-rate estimate needs one half-life of
   * observations before the break-even delay leaves its neutral value. Nothing before time 0 is
   * reported or billed.
   */
  readonly warmupSeconds: number;
}

export const DEFAULT_MODEL: SimModel = Object.freeze<SimModel>({
  boot: { kind: 'fixed', value: 90 },
  inServiceSeconds: 40,
  terminateSeconds: 20,
  healthCheckSeconds: 60,
  minSize: 0,
  maxSize: 20,
  initialInstances: 0,
  latency: { spacelift: 0.3, aws: 0.15 },
  lifecycleHook: true,
  availableAt: true,
  faults: NO_FAULTS,
  seed: 1,
  // 2024-01-01T00:00:00Z, a Monday.
  epoch: 1_704_067_200,
  quietSeconds: 1800,
  settleLimitSeconds: 6 * 3600,
  warmupSeconds: 900,
});
