/**
 * The two small interfaces the autoscaler and the drain handler talk through.
 * Adapters: `lambda/spacelift/` implements WorkerPoolApi, `lambda/aws/` implements Fleet.
 * Tests and the simulator provide in-memory fakes.
 */
import type { AsgSnapshot, PoolSnapshot, Worker } from './types';

/** Result of a `workerDrainSet` call. */
export interface DrainResult {
  /** The worker as the mutation returned it; `busy` true means it still runs something. */
  readonly worker: Worker;
}

export interface WorkerPoolApi {
  /** Pending runs and all workers of the pool (drained ones included, flagged). */
  snapshot(): Promise<PoolSnapshot>;
  /** Marks the worker drained so Spacelift schedules nothing new on it. */
  drain(workerId: string): Promise<DrainResult>;
  /** Clears the drained flag again. */
  undrain(workerId: string): Promise<DrainResult>;
}

/** What EC2 says about one instance. */
export interface InstanceFacts {
  /** Epoch seconds. */
  readonly launchTime: number;
  /** Whether the instance carries the registration tag (registration.ts). */
  readonly registered: boolean;
}

export interface Fleet {
  /** Group bounds, desired capacity and instances, without launch times or registration (see `instanceFacts`). */
  describe(): Promise<AsgSnapshot>;
  /** EC2 launch time and registration tag of the given instances; unknown ids are omitted. */
  instanceFacts(instanceIds: readonly string[]): Promise<ReadonlyMap<string, InstanceFacts>>;
  /** Tags the instances as having registered a worker (registration.ts); idempotent. */
  markRegistered(instanceIds: readonly string[]): Promise<void>;
  /** Raises desired capacity. Callers never pass a value below the current desired capacity. */
  setDesiredCapacity(desired: number): Promise<void>;
  /** `TerminateInstanceInAutoScalingGroup`. */
  terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): Promise<void>;
}
