/**
 * The Fleet port over one Auto Scaling group. A steady tick costs one DescribeAutoScalingGroups: launch times and
 * registration tags come from EC2 only for the instances the caller asks about (those without a worker), never
 * for the whole group; a tag is written once per instance (per container).
 *
 * With a warm pool, DescribeAutoScalingGroups lists only the group's own instances: those waiting in the warm pool
 * are listed by DescribeWarmPool, which is never called (nor granted), so stopped warm instances are never
 * capacity. One leaving the warm pool is listed as `Pending` (the pool has no launching hook: README, Warm pool), like a launch.
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
 */
import {
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Fleet } from '../core/ports';
import { REGISTERED_TAG_KEY } from '../core/registration';
import type { AsgSnapshot } from '../core/types';
import { describeInstanceFacts, IDS_PER_CALL } from './instance-facts';

export function createAsgFleet(client: AutoScalingClient, ec2: EC2Client, asgName: string): Fleet {
  return {
    async describe(): Promise<AsgSnapshot> {
      const response = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }));
      const groups = response.AutoScalingGroups ?? [];
      if (groups.length !== 1) {
        throw new Error(`DescribeAutoScalingGroups returned ${groups.length} groups named ${asgName}, expected exactly one`);
      }
      const group = groups[0];
      if (group.MinSize === undefined || group.MaxSize === undefined || group.DesiredCapacity === undefined) {
        throw new Error(`Auto Scaling group ${asgName} was described without MinSize, MaxSize or DesiredCapacity`);
      }
      return {
        name: asgName,
        minSize: group.MinSize,
        maxSize: group.MaxSize,
        desiredCapacity: group.DesiredCapacity,
        instances: (group.Instances ?? []).flatMap((instance) =>
          instance.InstanceId === undefined
            ? []
            : [{
              id: instance.InstanceId,
              lifecycleState: instance.LifecycleState ?? 'Unknown',
              protectedFromScaleIn: instance.ProtectedFromScaleIn ?? false,
            }],
        ),
      };
    },

    instanceFacts: (instanceIds) => describeInstanceFacts(ec2, instanceIds),

    async markRegistered(instanceIds) {
      for (let start = 0; start < instanceIds.length; start += IDS_PER_CALL) {
        await ec2.send(new CreateTagsCommand({
          Resources: instanceIds.slice(start, start + IDS_PER_CALL),
          Tags: [{ Key: REGISTERED_TAG_KEY, Value: 'true' }],
        }));
      }
    },

    async setDesiredCapacity(desired) {
      // Cooldowns are for simple scaling policies; this function is the only scaler of the group.
      await client.send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: asgName, DesiredCapacity: desired, HonorCooldown: false }),
      );
    },

    async terminateInstance(instanceId, decrementDesiredCapacity) {
      await client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceId,
          ShouldDecrementDesiredCapacity: decrementDesiredCapacity,
        }),
      );
    },
  };
}

/**
 * AWS refuses a decrementing termination when desired capacity already equals min size: `ValidationError`
 * "Currently, desiredSize equals minSize (N). Terminating instance without replacement will violate group's min
 * size constraint. …". Matched by name, not class, so it holds if the SDK is bundled more than once.
 */
export function isMinSizeRejection(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /min ?size/i.test(error.message);
}
