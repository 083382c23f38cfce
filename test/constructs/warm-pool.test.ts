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
    [{ minSize: 0 }, 'warmPool.minSize'],
    [{ minSize: 0, maxGroupPreparedCapacity: 0 }, 'warmPool.minSize'],
    [{ poolState: autoscaling.PoolState.RUNNING }, 'warmPool.poolState'],
  ])('%j', (warmPool, prop) => {
    expect(build(warmPool)).toThrow(new RegExp(`invalid "${prop.replace('.', '\\.')}"`));
  });

  test('a warm pool that only grows with the group may start empty', () => {
    synth({ minSize: 0, maxGroupPreparedCapacity: 3 }).hasResourceProperties('AWS::AutoScaling::WarmPool', { MinSize: 0, MaxGroupPreparedCapacity: 3 });
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

/** The launch template's user data, with every token rendered as "TOKEN". */
function userData(template: Template): string {
  const [lt] = Object.values<any>(template.findResources('AWS::EC2::LaunchTemplate'));
  const data = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  return typeof data === 'string' ? data : data['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'TOKEN')).join('');
}

// Auto Scaling stops a warm pool instance as soon as it has launched, without waiting for user data, and
// cloud-init runs user data on the first boot only: a bootstrap cut short would never run again.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
test('with a warm pool the bootstrap runs at every boot (cloud-init scripts-user always), as one MIME part', () => {
  const data = userData(synth({}));
  const boundary = /^Content-Type: multipart\/mixed; boundary="([^"]+)"$/m.exec(data)?.[1];
  expect(boundary).toBeDefined();
  const parts = data.split(`--${boundary}`).slice(1, -1);
  expect(parts).toHaveLength(2);
  expect(parts[0]).toMatch(/Content-Type: text\/cloud-config/);
  expect(parts[0]).toContain('cloud_final_modules:\n- [scripts-user, always]');
  expect(parts[1]).toMatch(/Content-Type: text\/x-shellscript[^\n]*\n\n#!\/bin\/bash\n/);
  expect(data.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
});

test('without a warm pool the user data is the plain script, run once', () => {
  const data = userData(synth());
  expect(data.startsWith('#!/bin/bash\n')).toBe(true);
  expect(data).not.toContain('cloud_final_modules');
});

// CloudFormation deletes a resource before the resources it depends on, and in parallel otherwise: without these
// DependsOn, the hook, the queue or the drain function could go first, and the warm pool's instances, which pass
// through the termination hook too, would wait out its heartbeat timeout with nothing to complete them.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
test('the warm pool depends on the drain hook and the whole drain, so a stack deletion removes it (and its instances) first', () => {
  const template = synth({});
  const [warmPool] = Object.values<any>(template.findResources('AWS::AutoScaling::WarmPool'));
  const dependsOn: string[] = warmPool.DependsOn ?? [];
  const ids = (type: string, prefix = 'PoolDrain') => Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  const required = [
    ...ids('AWS::AutoScaling::LifecycleHook', 'PoolGroupLifecycleHookDrainHook'),
    ...ids('AWS::IAM::Role', 'PoolGroupLifecycleHookDrainHook'),
    ...ids('AWS::SQS::Queue'),
    ...ids('AWS::Lambda::Function'),
    ...ids('AWS::Lambda::EventSourceMapping'),
    ...ids('AWS::IAM::Role'),
    ...ids('AWS::IAM::Policy'),
  ];
  // The hook, its notification role, both queues, the function, its event source, its role and both of its policies.
  expect(required).toHaveLength(9);
  expect(dependsOn).toEqual(expect.arrayContaining(required));
  // The hook's target is the drain queue: the one the warm pool outlives is the one its instances notify.
  const [hook] = Object.values<any>(template.findResources('AWS::AutoScaling::LifecycleHook'));
  expect(hook.Properties.NotificationTargetARN['Fn::GetAtt'][0]).toMatch(/^PoolDrainQueue/);
  expect(dependsOn).toContain(hook.Properties.NotificationTargetARN['Fn::GetAtt'][0]);
});
