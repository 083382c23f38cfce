/**
 * Plain data shared by the scaling policy, its adapters, the handlers and the simulator.
 * Nothing here does I/O. Times are Unix epoch **seconds** unless a name says otherwise.
 */

/** Worker metadata after parsing the JSON string Spacelift stores for each worker. */
export type WorkerMetadata =
  | {
    readonly valid: true;
    /** `asg_id`: the name of the Auto Scaling group that launched the worker's instance. */
    readonly asgName: string;
    /** `instance_id`: the EC2 instance the worker runs on. */
    readonly instanceId: string;
  }
  | {
    readonly valid: false;
    /** Why the metadata was rejected, for the log line. */
    readonly reason: string;
  };

/** One registered Spacelift worker, as seen by the autoscaler. */
export interface Worker {
  readonly id: string;
  readonly busy: boolean;
  readonly drained: boolean;
  /** When the worker registered. */
  readonly createdAt: number;
  /** When the worker last became idle; undefined when the API does not provide it. */
  readonly availableAt?: number;
  readonly metadata: WorkerMetadata;
}

/** The Spacelift side of one tick. */
export interface PoolSnapshot {
  /** Runs waiting for a worker (`workerPool.pendingRuns`). */
  readonly pendingRuns: number;
  /** Runs that could start right now (`workerPool.schedulableRunsCount`), when queried. */
  readonly schedulableRunsCount?: number;
  /**
   * Spacelift's own count of the pool's busy workers (`workerPool.busyWorkers`), when the schema has it: a list
   * showing fewer busy workers than this is partial (`partialList`).
   */
  readonly busyWorkers?: number;
  readonly workers: readonly Worker[];
}

/** One instance of the Auto Scaling group. */
export interface AsgInstance {
  readonly id: string;
  /** The ASG lifecycle state, e.g. `Pending`, `InService`, `Terminating:Wait`. */
  readonly lifecycleState: string;
  /**
   * EC2 launch time. Adapters fill it at least for instances that have no worker;
   * undefined means unknown and is treated as "still launching", never as a stray.
   */
  readonly launchTime?: number;
  /**
   * True when a worker of this group was seen on the instance before (see registration.ts). Adapters fill it,
   * like `launchTime`, for instances without a worker: such an instance lost its worker, or the snapshot lost
   * it, and is never a "never registered" stray.
   */
  readonly registered?: boolean;
  readonly protectedFromScaleIn: boolean;
}

/** The AWS side of one tick. */
export interface AsgSnapshot {
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly instances: readonly AsgInstance[];
}
