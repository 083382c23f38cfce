import 'aws-sdk-client-mock-jest';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { createAsgFleet, isMinSizeRejection } from '../../lambda/aws/fleet';
import { REGISTERED_TAG_KEY } from '../../lambda/core/registration';
import { autoScalingMock, ec2Mock } from './asg-model';
import { awsError, MIN_SIZE_REJECTION } from './fakes';

const ASG = 'workers-asg';
const fleet = () => createAsgFleet(new AutoScalingClient({ region: 'us-east-1' }), new EC2Client({ region: 'us-east-1' }), ASG);
const iid = (n: number) => `i-${n.toString(16).padStart(8, '0')}`;

beforeEach(() => {
  autoScalingMock.reset();
  ec2Mock.reset();
});

describe('describe', () => {
  test('maps the one group, without launch times', async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [ASG] }).resolves({
      AutoScalingGroups: [{
        AutoScalingGroupName: ASG,
        MinSize: 1,
        MaxSize: 5,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: ['us-east-1a'],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(),
        Instances: [
          { InstanceId: iid(1), LifecycleState: 'InService', ProtectedFromScaleIn: true, AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy' },
          { InstanceId: iid(2), LifecycleState: 'Pending', ProtectedFromScaleIn: false, AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy' },
        ],
      }],
    });
    await expect(fleet().describe()).resolves.toEqual({
      name: ASG,
      minSize: 1,
      maxSize: 5,
      desiredCapacity: 2,
      instances: [
        { id: iid(1), lifecycleState: 'InService', protectedFromScaleIn: true },
        { id: iid(2), lifecycleState: 'Pending', protectedFromScaleIn: false },
      ],
    });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test('with a warm pool, reads only the group\'s instances and passes their states through (test/core/warm-pool.test.ts)', async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [ASG] }).resolves({
      AutoScalingGroups: [{
        AutoScalingGroupName: ASG, MinSize: 0, MaxSize: 5, DesiredCapacity: 1, DefaultCooldown: 300, AvailabilityZones: ['us-east-1a'],
        HealthCheckType: 'EC2', CreatedTime: new Date(),
        // The warm pool's own instances are listed by DescribeWarmPool, which the autoscaler never calls.
        WarmPoolConfiguration: { MinSize: 2, MaxGroupPreparedCapacity: 2, PoolState: 'Stopped' },
        WarmPoolSize: 2,
        Instances: [
          { InstanceId: iid(3), LifecycleState: 'Pending:Wait', ProtectedFromScaleIn: true, AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy' },
          { InstanceId: iid(4), LifecycleState: 'Warmed:Stopped', ProtectedFromScaleIn: false, AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy' },
        ],
      }],
    });
    const snapshot = await fleet().describe();
    expect(snapshot.instances).toEqual([
      { id: iid(3), lifecycleState: 'Pending:Wait', protectedFromScaleIn: true },
      { id: iid(4), lifecycleState: 'Warmed:Stopped', protectedFromScaleIn: false },
    ]);
    expect(autoScalingMock.calls()).toHaveLength(1);
  });

  test.each([0, 2])('%i groups is an error naming the group', async (count) => {
    const group = { AutoScalingGroupName: ASG, MinSize: 0, MaxSize: 1, DesiredCapacity: 0, DefaultCooldown: 0, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date() };
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: Array(count).fill(group) });
    await expect(fleet().describe()).rejects.toThrow(`DescribeAutoScalingGroups returned ${count} groups named ${ASG}, expected exactly one`);
  });
});

describe('instanceFacts', () => {
  test('no ids: no call', async () => {
    await expect(fleet().instanceFacts([])).resolves.toEqual(new Map());
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test('batches 200 ids per call by filter (unknown ids are simply absent) and follows pages', async () => {
    const ids = Array.from({ length: 450 }, (_, n) => iid(n + 1));
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { Filters: { Values: string[] }[]; NextToken?: string }) => {
      const values = input.Filters[0].Values;
      // The first batch comes in two pages; the last id of each batch is unknown to EC2.
      const known = values.slice(0, -1);
      const half = Math.ceil(known.length / 2);
      const page = values[0] === iid(1) && input.NextToken === undefined ? known.slice(0, half) : values[0] === iid(1) ? known.slice(half) : known;
      return {
        Reservations: [{ Instances: page.map((id) => ({ InstanceId: id, LaunchTime: new Date(1_700_000_000_500) })) }],
        NextToken: values[0] === iid(1) && input.NextToken === undefined ? 'page-2' : undefined,
      };
    });
    const times = await fleet().instanceFacts(ids);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 4);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters?.[0].Values?.length)).toEqual([200, 200, 200, 50]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: ids.slice(400) }] });
    expect(times.size).toBe(447);
    expect(times.get(iid(1))).toEqual({ launchTime: 1_700_000_000, registered: false });
    expect(times.has(iid(200))).toBe(false);
  });

  test('an instance carrying the registration tag is registered, whatever other tags it has', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{
        Instances: [
          { InstanceId: iid(1), LaunchTime: new Date(1_700_000_000_000), Tags: [{ Key: 'Name', Value: 'x' }, { Key: REGISTERED_TAG_KEY, Value: 'true' }] },
          { InstanceId: iid(2), LaunchTime: new Date(1_700_000_000_000), Tags: [{ Key: 'Name', Value: 'x' }] },
        ],
      }],
    });
    const facts = await fleet().instanceFacts([iid(1), iid(2)]);
    expect(facts.get(iid(1))?.registered).toBe(true);
    expect(facts.get(iid(2))?.registered).toBe(false);
  });
});

describe('markRegistered', () => {
  test('tags the instances with the registration tag, 200 per call', async () => {
    ec2Mock.on(CreateTagsCommand).resolves({});
    const ids = Array.from({ length: 250 }, (_, n) => iid(n + 1));
    await fleet().markRegistered(ids);
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      { Resources: ids.slice(0, 200), Tags: [{ Key: REGISTERED_TAG_KEY, Value: 'true' }] },
      { Resources: ids.slice(200), Tags: [{ Key: REGISTERED_TAG_KEY, Value: 'true' }] },
    ]);
  });
});

describe('actions', () => {
  test('setDesiredCapacity ignores cooldowns', async () => {
    autoScalingMock.on(SetDesiredCapacityCommand).resolves({});
    await fleet().setDesiredCapacity(7);
    expect(autoScalingMock).toHaveReceivedCommandWith(SetDesiredCapacityCommand, {
      AutoScalingGroupName: ASG, DesiredCapacity: 7, HonorCooldown: false,
    });
  });

  test.each([true, false])('terminateInstance with decrement %s', async (decrement) => {
    autoScalingMock.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
    await fleet().terminateInstance(iid(3), decrement);
    expect(autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: iid(3),
      ShouldDecrementDesiredCapacity: decrement,
    });
  });

  test('errors pass through', async () => {
    autoScalingMock.on(TerminateInstanceInAutoScalingGroupCommand).rejects(MIN_SIZE_REJECTION);
    await expect(fleet().terminateInstance(iid(3), true)).rejects.toThrow('min size constraint');
  });
});

describe('isMinSizeRejection', () => {
  test.each([
    [MIN_SIZE_REJECTION, true],
    [awsError('ValidationError', 'Instance Id not found - No managed instance found for instance ID i-00000001'), false],
    [awsError('Throttling', 'Rate exceeded: min size'), false],
    ['min size', false],
  ])('%o -> %s', (error, expected) => {
    expect(isMinSizeRejection(error)).toBe(expected);
  });
});
