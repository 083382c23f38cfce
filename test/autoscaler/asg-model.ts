/**
 * One Auto Scaling group as AWS keeps it, behind aws-sdk-client-mock: the calls the fleet adapter makes
 * change or read this state (instance tags included), and AWS's min-size rule for decrementing terminations is
 * enforced.
 */
import {
  AutoScalingClient,
  AutoScalingServiceException,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

export const autoScalingMock = mockClient(AutoScalingClient);
export const ec2Mock = mockClient(EC2Client);

export interface ModelInstance {
  readonly id: string;
  lifecycleState: string;
  /** Epoch seconds. */
  readonly launchTime: number;
  readonly protectedFromScaleIn?: boolean;
  /** EC2 tags by key. */
  tags?: Record<string, string>;
}

export class AsgModel {
  instances: ModelInstance[] = [];
  /** CreateTags calls still to fail (throttled). */
  tagFailures = 0;

  constructor(
    readonly name: string,
    public minSize: number,
    public maxSize: number,
    public desiredCapacity: number,
  ) {
    autoScalingMock.reset();
    ec2Mock.reset();
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames: string[] }) => ({
      AutoScalingGroups: input.AutoScalingGroupNames.includes(this.name) ? [this.describe()] : [],
    }));
    autoScalingMock.on(SetDesiredCapacityCommand).callsFake((input: { DesiredCapacity: number }) => {
      this.desiredCapacity = input.DesiredCapacity;
      return {};
    });
    autoScalingMock.on(TerminateInstanceInAutoScalingGroupCommand).callsFake(
      (input: { InstanceId: string; ShouldDecrementDesiredCapacity: boolean }) =>
        this.terminate(input.InstanceId, input.ShouldDecrementDesiredCapacity),
    );
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { Filters: { Name: string; Values: string[] }[] }) => {
      const ids = new Set(input.Filters.find((f) => f.Name === 'instance-id')?.Values ?? []);
      const found = this.instances.filter((i) => ids.has(i.id));
      return {
        Reservations: [{
          Instances: found.map((i) => ({
            InstanceId: i.id,
            LaunchTime: new Date(i.launchTime * 1000),
            Tags: Object.entries(i.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
          })),
        }],
      };
    });
    ec2Mock.on(CreateTagsCommand).callsFake((input: { Resources: string[]; Tags: { Key: string; Value: string }[] }) => {
      if (this.tagFailures > 0) {
        this.tagFailures--;
        throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });
      }
      for (const instance of this.instances.filter((i) => input.Resources.includes(i.id))) {
        instance.tags = { ...instance.tags, ...Object.fromEntries(input.Tags.map((t) => [t.Key, t.Value])) };
      }
      return {};
    });
  }

  add(...instances: ModelInstance[]): this {
    this.instances.push(...instances);
    return this;
  }

  state(id: string): string | undefined {
    return this.instances.find((i) => i.id === id)?.lifecycleState;
  }

  /** AWS calls of both clients so far. */
  static calls(): number {
    return autoScalingMock.calls().length + ec2Mock.calls().length;
  }

  private describe() {
    return {
      AutoScalingGroupName: this.name,
      MinSize: this.minSize,
      MaxSize: this.maxSize,
      DesiredCapacity: this.desiredCapacity,
      Instances: this.instances.map((i) => ({
        InstanceId: i.id,
        LifecycleState: i.lifecycleState,
        ProtectedFromScaleIn: i.protectedFromScaleIn ?? true,
        HealthStatus: 'Healthy',
        AvailabilityZone: 'us-east-1a',
      })),
    };
  }

  private terminate(id: string, decrement: boolean) {
    const instance = this.instances.find((i) => i.id === id);
    if (instance === undefined) throw validationError(`Instance Id not found - No managed instance found for instance ID ${id}`);
    if (decrement && this.desiredCapacity <= this.minSize) {
      throw validationError(
        `Currently, desiredSize equals minSize (${this.minSize}). Terminating instance without replacement will violate `
          + 'group\'s min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group\'s min size.',
      );
    }
    // The termination lifecycle hook holds it here while the drain handler works.
    instance.lifecycleState = 'Terminating:Wait';
    if (decrement) this.desiredCapacity -= 1;
    return { Activity: { ActivityId: `activity-${id}`, AutoScalingGroupName: this.name, Cause: 'test', StartTime: new Date(), StatusCode: 'InProgress' } };
  }
}

function validationError(message: string): AutoScalingServiceException {
  return new AutoScalingServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
}
