import { Stack, Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { POOL_ID, poolOnlyStack } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

// Resource types CloudFormation cannot tag; any other type in the template must carry the pool's tags.
const UNTAGGABLE = new Set([
  'AWS::IAM::Policy',
  'AWS::IAM::InstanceProfile',
  'AWS::AutoScaling::LifecycleHook',
  'AWS::SQS::QueuePolicy',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::Permission',
  // The AZRebalance SDK call: a custom resource, not billed.
  'Custom::AWS',
  // Tagged through TagSpecifications, checked below.
  'AWS::EC2::LaunchTemplate',
]);

const TAGS = { CostCenter: 'ci-runners', Team: 'platform' };

/** The pool alone, with tags and monitoring (its dashboard and alarms are resources to tag too). */
const poolWithMonitoring = () => poolOnlyStack((stack) => ({
  tags: TAGS,
  monitoring: { alarmTopic: sns.Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'), dashboard: true },
}));

const tagsOf = (tags: { Key: string; Value: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

test('every resource the pool creates, with monitoring on, carries the pool\'s tags', () => {
  const { stack, props } = poolWithMonitoring();
  new SpaceliftWorkerPool(stack, 'Pool', props);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties?: any }>;
  const expected = { ...TAGS, WorkerPoolId: POOL_ID };

  const untagged = Object.entries(resources)
    .filter(([, r]) => !UNTAGGABLE.has(r.Type))
    .filter(([, r]) => expect.objectContaining(expected).asymmetricMatch(tagsOf(r.Properties?.Tags)) === false)
    .map(([id, r]) => `${id} (${r.Type})`);
  expect(untagged).toEqual([]);
  // The kinds the pool bills or is audited by are all there, so the check above covers them.
  const types = new Set(Object.values(resources).map((r) => r.Type));
  for (const type of ['AWS::Lambda::Function', 'AWS::Logs::LogGroup', 'AWS::SQS::Queue', 'AWS::Events::Rule', 'AWS::CloudWatch::Alarm',
    'AWS::IAM::Role', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::EC2::SecurityGroup', 'AWS::Lambda::EventSourceMapping']) {
    expect(types).toContain(type);
  }

  // The group hands its tags to the instances it launches; the launch template tags instances and volumes.
  const [group] = Object.values(resources).filter((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup');
  expect(group.Properties.Tags).toEqual(expect.arrayContaining(
    Object.entries(expected).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true }))));
  const [template] = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::LaunchTemplate');
  const specs = template.Properties.LaunchTemplateData.TagSpecifications as { ResourceType: string; Tags: any[] }[];
  expect(specs.map((s) => s.ResourceType).sort()).toEqual(['instance', 'volume']);
  for (const spec of specs) expect(tagsOf(spec.Tags)).toMatchObject(expected);
});

test('the stack-wide SDK-call function carries the tags every pool of the stack agrees on', () => {
  const { stack, props } = poolWithMonitoring();
  new SpaceliftWorkerPool(stack, 'A', { ...props, tags: { ...TAGS, Env: 'dev' } });
  new SpaceliftWorkerPool(stack, 'B', { ...props, tags: { ...TAGS, Env: 'prod' } });
  const functions = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
    .filter((fn) => !/Scales|Drains/.test(fn.Properties.Description ?? ''));
  expect(functions).toHaveLength(1);
  expect(tagsOf(functions[0].Properties.Tags)).toEqual({ ...TAGS, WorkerPoolId: POOL_ID });
});

// With instance metadata tags on (the bootstrap reads the group's name there), EC2 refuses to launch an instance
// whose tag keys have spaces, "/" or other characters outside letters, digits and + - = . , _ : @.
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
describe('tag keys the workers cannot carry', () => {
  test.each(['Cost Center', 'team/owner', '_index', 'a#b'])('the tags prop with "%s" is refused at synth, naming tags', (key) => {
    const { stack, props } = poolOnlyStack(() => ({ tags: { [key]: 'x' } }));
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', props)).toThrow(/invalid "tags": tag key ".*" cannot be on the workers/);
  });

  test('a key Tags.of adds above the pool fails the synth with the key and the way out', () => {
    const { stack, props } = poolOnlyStack(() => ({}));
    new SpaceliftWorkerPool(stack, 'Pool', props);
    Tags.of(stack).add('Business Unit', 'z');
    expect(() => Template.fromStack(stack)).toThrow(/tag key "Business Unit" cannot be on the workers.*Tags\.of/s);
  });

  test('a stack tag (StackProps.tags, applied by CloudFormation at deploy) fails the synth too', () => {
    const stack = new Stack(recommendedApp(), 'Tagged', { env: { account: '123456789012', region: 'eu-west-1' }, tags: { 'Cost Center': 'x' } });
    const { props } = poolOnlyStack(() => ({}));
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] });
    new SpaceliftWorkerPool(stack, 'Pool', {
      ...props,
      vpc,
      vpcSubnets: { subnets: vpc.privateSubnets },
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool')),
      machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
    });
    expect(() => Template.fromStack(stack)).toThrow(/tag key "Cost Center" cannot be on the workers.*StackProps\.tags/s);
  });

  test('a key that reaches neither the launch template nor the instances passes', () => {
    const { stack, props } = poolOnlyStack(() => ({}));
    new SpaceliftWorkerPool(stack, 'Pool', props);
    Tags.of(stack).add('Cost Center', 'x', { applyToLaunchedInstances: false, includeResourceTypes: ['AWS::AutoScaling::AutoScalingGroup'] });
    const group = Object.values<any>(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(group.Properties.Tags).toContainEqual({ Key: 'Cost Center', Value: 'x', PropagateAtLaunch: false });
  });

  test('keys with every allowed character pass', () => {
    const { stack, props } = poolOnlyStack(() => ({ tags: { 'a-b_c.d:f@g+h=i': 'x', 'AWS9': 'y' } }));
    new SpaceliftWorkerPool(stack, 'Pool', props);
    Tags.of(stack).add('cost:center', 'z');
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});
