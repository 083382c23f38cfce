/**
 * The warm pool as the construct configures it, against moto's Auto Scaling API: PutWarmPool with the
 * properties of the synthesized AWS::AutoScaling::WarmPool, then DescribeWarmPool.
 *
 * moto 5.2.1 stores the warm pool's configuration and nothing else: it launches no warm instance
 * (DescribeWarmPool always lists none), so no instance ever passes through a Warmed:* state, and its
 * CloudFormation does not create AWS::AutoScaling::WarmPool at all (moto's FakeWarmPool has no
 * CloudFormation type), so the stack cannot be deployed with one. What this cannot cover is listed in
 * test/integ/README.md.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteWarmPoolCommand,
  DescribeWarmPoolCommand,
  PutWarmPoolCommand,
  type PutWarmPoolCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type { PoolWarmPoolOptions } from '../../lib';
import { poolStack } from '../support/pool-stack';
import { acquireMoto, clientConfig, releaseMoto } from './support/moto';

jest.setTimeout(60_000);

const GROUP = 'integ-warm-pool-group';
let autoscalingApi: AutoScalingClient;

beforeAll(async () => {
  await acquireMoto('warm-pool.test.ts');
  autoscalingApi = new AutoScalingClient(clientConfig());
  const ec2 = new EC2Client(clientConfig());
  try {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['amzn2-ami-hvm-*-x86_64-gp2'] }] }));
    const imageId = Images.find((i) => i.ImageId !== undefined)?.ImageId;
    if (imageId === undefined) throw new Error('moto preloads no x86_64 Amazon Linux 2 AMI');
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'integ-warm-pool', LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.small' } }));
  } finally {
    ec2.destroy();
  }
  await autoscalingApi.send(new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: GROUP,
    LaunchTemplate: { LaunchTemplateName: 'integ-warm-pool', Version: '$Latest' },
    MinSize: 0,
    MaxSize: 8,
    AvailabilityZones: ['us-east-1a'],
    NewInstancesProtectedFromScaleIn: true,
  }));
}, 60_000);

afterAll(async () => {
  autoscalingApi?.destroy();
  await releaseMoto();
});

/** PutWarmPool with exactly what the synthesized WarmPool resource says, for this group. */
function putWarmPoolInput(warmPool: PoolWarmPoolOptions): PutWarmPoolCommandInput {
  const { stack, build } = poolStack({ warmPool });
  build();
  const resources = Object.values<any>(Template.fromStack(stack).findResources('AWS::AutoScaling::WarmPool'));
  expect(resources).toHaveLength(1);
  const { AutoScalingGroupName, ...properties } = resources[0].Properties;
  expect(AutoScalingGroupName).toEqual({ Ref: expect.stringMatching(/^PoolGroupASG/) });
  return { AutoScalingGroupName: GROUP, ...properties };
}

test.each<[string, PoolWarmPoolOptions, object]>([
  ['the default: one stopped instance, never reused on scale-in', {},
    { MinSize: 1, MaxGroupPreparedCapacity: 1, PoolState: 'Stopped', InstanceReusePolicy: { ReuseOnScaleIn: false } }],
  ['hibernated, growing with the group', { minSize: 2, maxGroupPreparedCapacity: 5, poolState: autoscaling.PoolState.HIBERNATED },
    { MinSize: 2, MaxGroupPreparedCapacity: 5, PoolState: 'Hibernated', InstanceReusePolicy: { ReuseOnScaleIn: false } }],
])('PutWarmPool as the construct configures it (%s) is accepted and described back', async (_, warmPool, expected) => {
  const input = putWarmPoolInput(warmPool);
  expect(input).toEqual({ AutoScalingGroupName: GROUP, ...expected });
  await autoscalingApi.send(new PutWarmPoolCommand(input));
  const described = await autoscalingApi.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: GROUP }));
  expect(described.WarmPoolConfiguration).toEqual(expected);
  // A known moto gap: it launches no warm instance, whatever the minimum size.
  expect(described.Instances ?? []).toEqual([]);
  await autoscalingApi.send(new DeleteWarmPoolCommand({ AutoScalingGroupName: GROUP }));
  expect((await autoscalingApi.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: GROUP }))).WarmPoolConfiguration).toBeUndefined();
});
