import { Template, Match } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { PoolWarmPoolOptions } from '../../lib';
import { poolStack } from '../support/pool-stack';

function synth(warmPool?: PoolWarmPoolOptions, overrides = {}) {
  const { stack, build } = poolStack({ warmPool, ...overrides });
  build();
  return Template.fromStack(stack);
}

const t3 = (size: ec2.InstanceSize) => ec2.InstanceType.of(ec2.InstanceClass.T3, size);

test('without warmPool there is no warm pool and no hibernation', () => {
  const template = synth();
  template.resourceCountIs('AWS::AutoScaling::WarmPool', 0);
  template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: Match.objectLike({ HibernationOptions: Match.absent() }),
  });
});

test('by default the warm pool holds exactly one stopped instance and never takes instances back on scale-in', () => {
  const template = synth({});
  template.resourceCountIs('AWS::AutoScaling::WarmPool', 1);
  template.hasResourceProperties('AWS::AutoScaling::WarmPool', {
    AutoScalingGroupName: { Ref: Match.stringLikeRegexp('^PoolGroup') },
    MinSize: 1,
    MaxGroupPreparedCapacity: 1,
    PoolState: 'Stopped',
    InstanceReusePolicy: { ReuseOnScaleIn: false },
  });
});

test('minSize and maxGroupPreparedCapacity are passed through', () => {
  synth({ minSize: 2, maxGroupPreparedCapacity: 5 }).hasResourceProperties('AWS::AutoScaling::WarmPool', {
    MinSize: 2, MaxGroupPreparedCapacity: 5, PoolState: 'Stopped',
  });
});

test('maxGroupPreparedCapacity defaults to minSize, so the warm pool has a fixed size', () => {
  synth({ minSize: 3 }).hasResourceProperties('AWS::AutoScaling::WarmPool', { MinSize: 3, MaxGroupPreparedCapacity: 3 });
});

test('HIBERNATED enables hibernation in the launch template', () => {
  const template = synth({ poolState: autoscaling.PoolState.HIBERNATED });
  template.hasResourceProperties('AWS::AutoScaling::WarmPool', { PoolState: 'Hibernated' });
  template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: Match.objectLike({ HibernationOptions: { Configured: true } }),
  });
});

test('STOPPED does not enable hibernation', () => {
  synth({ poolState: autoscaling.PoolState.STOPPED }).hasResourceProperties('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: Match.objectLike({ HibernationOptions: Match.absent() }),
  });
});

describe('synth errors name the prop', () => {
  const build = (warmPool: PoolWarmPoolOptions, overrides = {}) => () => synth(warmPool, overrides);

  test.each([
    [{ minSize: -1 }, 'warmPool.minSize'],
    [{ minSize: 1.5 }, 'warmPool.minSize'],
    [{ maxGroupPreparedCapacity: -1 }, 'warmPool.maxGroupPreparedCapacity'],
    [{ minSize: 3, maxGroupPreparedCapacity: 2 }, 'warmPool.maxGroupPreparedCapacity'],
    [{ poolState: autoscaling.PoolState.RUNNING }, 'warmPool.poolState'],
  ])('%j', (warmPool, prop) => {
    expect(build(warmPool)).toThrow(new RegExp(`invalid "${prop.replace('.', '\\.')}"`));
  });

  test('reuseOnScaleIn is refused: the termination hook, and so the drain, would be skipped', () => {
    expect(build({ reuseOnScaleIn: true } as PoolWarmPoolOptions)).toThrow(/invalid "warmPool\.reuseOnScaleIn".*termination hook/);
  });

  test('HIBERNATED with an unencrypted root volume', () => {
    expect(build({ poolState: autoscaling.PoolState.HIBERNATED }, { rootVolume: { encrypted: false } }))
      .toThrow(/invalid "warmPool\.poolState".*encrypted root volume/);
  });

  test('a mixed instances policy', () => {
    expect(build({}, { instanceTypes: [t3(ec2.InstanceSize.SMALL), t3(ec2.InstanceSize.MEDIUM)] }))
      .toThrow(/invalid "warmPool".*mixed instances policy/);
  });
});
