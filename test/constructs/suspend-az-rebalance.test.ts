import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { SpaceliftWorkerPool } from '../../lib';
import { poolOnlyStack, poolStack } from '../support/pool-stack';

/** The log group of the stack-wide function that runs the AZRebalance SDK call. */
function providerLogGroup(template: Template): any {
  const groups = Object.entries<any>(template.findResources('AWS::Logs::LogGroup'))
    .filter(([id]) => id.startsWith('CdkEc2WorkerPoolSdkCallProvider'));
  expect(groups).toHaveLength(1);
  return groups[0][1];
}

const tagsOf = (resource: any) => Object.fromEntries((resource.Properties.Tags ?? []).map((t: any) => [t.Key, t.Value]));

test('with a permissions boundary, every role in the template has it, the hook\'s and the SDK-call provider\'s included', () => {
  const { stack, props } = poolOnlyStack((scope) => ({
    permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(scope, 'Boundary', 'org-boundary'),
  }));
  const boundary = props.permissionsBoundary!;
  new SpaceliftWorkerPool(stack, 'Pool', props);
  const roles = Template.fromStack(stack).findResources('AWS::IAM::Role');
  const expected = JSON.stringify(stack.resolve(boundary.managedPolicyArn));
  const without = Object.entries<any>(roles)
    .filter(([, role]) => JSON.stringify(role.Properties.PermissionsBoundary) !== expected)
    .map(([id]) => id);
  // Instance role, drain and autoscaler roles, the hook's notification role, the provider's role.
  expect(Object.keys(roles)).toHaveLength(5);
  expect(without).toEqual([]);
});

test('the SDK-call provider\'s log group follows the pool\'s retention, key and tags', () => {
  const { stack, props } = poolStack();
  const key = new kms.Key(stack, 'LogKey');
  new SpaceliftWorkerPool(stack, 'Pool', { ...props, logRetention: logs.RetentionDays.ONE_YEAR, logEncryptionKey: key, tags: { team: 'platform' } });
  const group = providerLogGroup(Template.fromStack(stack));
  expect(group.Properties.RetentionInDays).toBe(365);
  expect(group.Properties.KmsKeyId).toEqual(stack.resolve(key.keyArn));
  expect(tagsOf(group)).toEqual({ WorkerPoolId: props.workerPoolId, team: 'platform' });
});

test('by default the provider\'s log group keeps logs as long as the pool\'s functions', () => {
  const { stack, build } = poolStack();
  build();
  const group = providerLogGroup(Template.fromStack(stack));
  expect(group.Properties.RetentionInDays).toBe(60);
  expect(group.Properties.KmsKeyId).toBeUndefined();
});

describe('pools of one stack share the provider', () => {
  test('it keeps the longest retention and only the tags they agree on', () => {
    const { stack, props } = poolStack();
    new SpaceliftWorkerPool(stack, 'A', { ...props, logRetention: logs.RetentionDays.ONE_MONTH, tags: { team: 'platform', env: 'dev' } });
    new SpaceliftWorkerPool(stack, 'B', {
      ...props, workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y3A', logRetention: logs.RetentionDays.INFINITE, tags: { team: 'platform', env: 'prod' },
    });
    const group = providerLogGroup(Template.fromStack(stack));
    expect(group.Properties.RetentionInDays).toBeUndefined();
    expect(tagsOf(group)).toEqual({ team: 'platform' });
  });

  test('different log keys or permissions boundaries cannot both apply, and fail naming the prop', () => {
    const { stack, props } = poolStack();
    new SpaceliftWorkerPool(stack, 'A', { ...props, logEncryptionKey: new kms.Key(stack, 'KeyA') });
    expect(() => new SpaceliftWorkerPool(stack, 'B', { ...props, logEncryptionKey: new kms.Key(stack, 'KeyB') }))
      .toThrow(/Test\/B\/SuspendAzRebalance: invalid "logEncryptionKey": differs from that of another pool in this stack/);

    const other = poolStack();
    const boundary = (name: string) => iam.ManagedPolicy.fromManagedPolicyName(other.stack, name, name);
    new SpaceliftWorkerPool(other.stack, 'A', { ...other.props, permissionsBoundary: boundary('one') });
    expect(() => new SpaceliftWorkerPool(other.stack, 'B', { ...other.props, permissionsBoundary: boundary('two') }))
      .toThrow(/invalid "permissionsBoundary": differs/);
  });
});

describe('the stack\'s AwsCustomResource function is one per stack (aws-cdk-lib keeps the first caller\'s role)', () => {
  const userCall = (scope: Construct) => new cr.AwsCustomResource(scope, 'UserCall', {
    onCreate: { service: 'STS', action: 'getCallerIdentity', physicalResourceId: cr.PhysicalResourceId.of('me') },
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
    installLatestAwsSdk: false,
  });

  test('one the user made before the first pool fails the synth: the pool\'s call would run without its boundary', () => {
    const { stack, props } = poolOnlyStack((scope) => ({
      permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(scope, 'Boundary', 'org-boundary'),
    }));
    userCall(stack);
    new SpaceliftWorkerPool(stack, 'Pool', props);
    expect(() => Template.fromStack(stack)).toThrow(/AwsCustomResource function was created by another construct before the first cdk-ec2-workerpool pool/);
  });

  test('without a permissions boundary, one the user made first is a warning: only the pools\' log settings are lost', () => {
    const { stack, props } = poolOnlyStack(() => ({}));
    userCall(stack);
    new SpaceliftWorkerPool(stack, 'Pool', props);
    Template.fromStack(stack);
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('sharedSdkCallFunction'));
    expect(warnings.map((w) => String(w.entry.data))).toEqual([expect.stringContaining('without the pools\' log group and retention')]);
  });

  test('one the user makes after the pools uses the pools\' function, and the stack synthesizes', () => {
    const { stack, props } = poolOnlyStack(() => ({}));
    new SpaceliftWorkerPool(stack, 'Pool', props);
    userCall(stack);
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});
