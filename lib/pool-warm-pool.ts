import { Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type { IConstruct } from 'constructs';
import { WorkerPoolConfigError, validateKnownInteger } from './validation';
import type { WorkerDrain } from './worker-drain';

/**
 * A warm pool of pre-initialized workers: instances that booted once, ran the user data and were
 * stopped, so that a scale-out starts them instead of launching new ones. A stopped instance costs
 * its EBS volumes only; the warm-up boot is billed like any running time.
 *
 * Instances in the warm pool never register a worker: while their target lifecycle state is
 * `Warmed:*`, the bootstrap downloads and verifies the launcher onto the root volume and reads no
 * secret; it starts the launcher only once the state is `InService`. The warm start verifies the kept
 * launcher again, reads the credentials and starts it, so its time is the instance start plus that.
 * Auto Scaling does not wait for the warm-up boot: one stopped before the launcher was kept, and a
 * FedRAMP pool (which only its token tells apart), download the launcher at the warm start instead.
 *
 * Instances are never returned to the warm pool on scale-in (`ReuseOnScaleIn` is not offered): an
 * instance going back to the warm pool skips the termination lifecycle hook, so its worker would not
 * be drained. Warm pools do not work with a mixed instances policy (`instanceTypes`).
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
 */
export interface PoolWarmPoolOptions {
  /**
   * Instances kept in the warm pool.
   * @default 1
   */
  readonly minSize?: number;
  /**
   * Maximum instances in the group and its warm pool together. The warm pool holds the difference
   * with the desired capacity, and never fewer than `minSize`; equal to `minSize`, the warm pool has
   * exactly `minSize` instances whatever the group's size.
   * @default - `minSize`: a warm pool of exactly `minSize` instances (AWS's own default, the group's
   * maximum size minus its desired capacity, would keep up to `maxSize` stopped instances)
   */
  readonly maxGroupPreparedCapacity?: number;
  /**
   * The state of the instances in the warm pool: `STOPPED` or `HIBERNATED` (`RUNNING` is refused: it
   * bills full instance-hours for workers that cannot take runs). Hibernation keeps the RAM on the
   * root volume, which must be encrypted (the default) and larger than the RAM, on an instance type
   * and image that support hibernation; this library enables hibernation in the launch template.
   * @default autoscaling.PoolState.STOPPED
   * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/hibernating-prerequisites.html
   */
  readonly poolState?: autoscaling.PoolState;
}

/** What the pool knows that the warm pool's validation needs. */
export interface WarmPoolContext {
  /** The pool uses a mixed instances policy (`instanceTypes`). */
  readonly mixedInstances: boolean;
  /** The root volume is encrypted. */
  readonly rootVolumeEncrypted: boolean;
}

/** Checks the options at synth and returns the pool state to configure; every error names the prop. */
export function validateWarmPool(scope: IConstruct, options: PoolWarmPoolOptions, context: WarmPoolContext): autoscaling.PoolState {
  if (context.mixedInstances) {
    // PutWarmPool refuses a group with a mixed instances policy.
    // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
    throw new WorkerPoolConfigError(scope, 'warmPool', 'cannot be combined with instanceTypes: AWS refuses a warm pool on a group with a mixed instances policy');
  }
  if ('reuseOnScaleIn' in options) {
    // Not part of the jsii type; caught for JavaScript callers that pass it anyway.
    throw new WorkerPoolConfigError(scope, 'warmPool.reuseOnScaleIn',
      'is not supported: an instance returned to the warm pool skips the termination hook, so its worker would not be drained');
  }
  const why = 'the pool checks the warm pool against the group\'s size at synth';
  validateKnownInteger(scope, 'warmPool.minSize', options.minSize, why, 0);
  validateKnownInteger(scope, 'warmPool.maxGroupPreparedCapacity', options.maxGroupPreparedCapacity, why, 0);
  const minSize = options.minSize ?? 1;
  const prepared = options.maxGroupPreparedCapacity;
  if (prepared !== undefined && !Token.isUnresolved(prepared) && !Token.isUnresolved(minSize) && prepared < minSize) {
    throw new WorkerPoolConfigError(scope, 'warmPool.maxGroupPreparedCapacity', `(${prepared}) must be at least warmPool.minSize (${minSize})`);
  }
  if ((prepared ?? minSize) === 0) {
    throw new WorkerPoolConfigError(scope, 'warmPool.minSize',
      'is 0 with no maxGroupPreparedCapacity above it, a warm pool that never holds an instance; omit warmPool, or raise either');
  }
  const poolState = options.poolState ?? autoscaling.PoolState.STOPPED;
  if (poolState === autoscaling.PoolState.RUNNING) {
    throw new WorkerPoolConfigError(scope, 'warmPool.poolState',
      'must be STOPPED or HIBERNATED: a running warm instance is billed in full and cannot take runs; raise minSize instead');
  }
  if (poolState === autoscaling.PoolState.HIBERNATED && !context.rootVolumeEncrypted) {
    throw new WorkerPoolConfigError(scope, 'warmPool.poolState', 'HIBERNATED needs an encrypted root volume; remove rootVolume.encrypted: false');
  }
  return poolState;
}

/**
 * Adds the warm pool to the group, once validated by {@link validateWarmPool}.
 *
 * An instance terminated from the warm pool goes through the termination hook too
 * (`Warmed:Terminating:Wait`), so deleting the warm pool needs the drain that completes it. Left to
 * itself, CloudFormation deletes the warm pool, the hook and the drain in parallel (each depends only
 * on the group); a resource with a DependsOn is deleted before what it depends on, so the warm pool
 * depends on the hook (with its role) and on the whole drain (queues, function, role, policies, event
 * source mapping), and its instances are terminated and completed while all of them still exist:
 * none waits out the heartbeat timeout on a hook whose queue or function is gone.
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
 */
export function addWarmPool(
  group: autoscaling.AutoScalingGroup, options: PoolWarmPoolOptions, poolState: autoscaling.PoolState, drain: WorkerDrain,
): autoscaling.WarmPool {
  const minSize = options.minSize ?? 1;
  const warmPool = group.addWarmPool({
    minSize,
    maxGroupPreparedCapacity: options.maxGroupPreparedCapacity ?? minSize,
    poolState,
    reuseOnScaleIn: false,
  });
  warmPool.node.addDependency(drain.lifecycleHook, drain);
  return warmPool;
}
