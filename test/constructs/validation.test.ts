import { CfnParameter, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { POOL_ID, poolStack, testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

// Bad props fail at synth with a message that names the prop.
describe('invalid props', () => {
  const armImage = () => WorkerImage.fromMachineImage(
    ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }), ec2.InstanceArchitecture.ARM_64);

  test.each<[string, (stack: Stack) => Record<string, unknown>, RegExp]>([
    ['minSize above maxSize', () => ({ minSize: 5, maxSize: 2 }), /invalid "minSize": \(5\) must not exceed maxSize \(2\)/],
    ['negative maxSize', () => ({ maxSize: -1 }), /invalid "maxSize": must be an integer >= 0/],
    ['fractional minSize', () => ({ minSize: 1.5 }), /invalid "minSize"/],
    ['a pool id that is not a ULID', () => ({ workerPoolId: 'my-pool' }), /invalid "workerPoolId": "my-pool" is not a Spacelift worker pool id/],
    ['a lower-case pool id', () => ({ workerPoolId: POOL_ID.toLowerCase() }), /invalid "workerPoolId"/],
    ['an API key id that is not one', () => ({ spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://acme.app.spacelift.io', apiKeyId: 'not-an-id', parameterName: '/k' }) }),
    /invalid "spaceliftApiKey \(apiKeyId\)": is not a Spacelift API key id \(26 upper-case letters and digits; got 9 characters, not shown\)/],
    ['a parameter name without the leading slash', () => ({ spaceliftApiKey: testApiKey('k') }),
      /invalid "spaceliftApiKey \(parameterName\)": must be a parameter name starting with "\/"/],
    ['an arm64 image on an x86 type', () => ({ machineImage: armImage(), instanceType: new ec2.InstanceType('m6i.large') }),
      /invalid "machineImage": the image is arm64 but the instance types are x86_64/],
    ['an x86 image on a Graviton type', () => ({ instanceType: new ec2.InstanceType('m7g.large') }),
      /invalid "machineImage": the image is x86_64 but the instance types are arm64/],
    ['instanceType together with instanceTypes', () => ({ instanceType: new ec2.InstanceType('m5.large'), instanceTypes: [new ec2.InstanceType('m5.large')] }),
      /invalid "instanceTypes": cannot be combined with instanceType/],
    ['an empty instanceTypes', () => ({ instanceTypes: [] }), /invalid "instanceTypes": must list at least one/],
    ['instanceTypes of mixed architectures', () => ({ instanceTypes: [new ec2.InstanceType('m6i.large'), new ec2.InstanceType('m6g.large')] }),
      /invalid "instanceTypes": mixes architectures/],
    ['spot settings without instanceTypes', () => ({ onDemandPercentageAboveBaseCapacity: 50 }),
      /invalid "onDemandPercentageAboveBaseCapacity": only applies to a mixed instances policy/],
    ['an on-demand percentage above 100', () => ({ instanceTypes: [new ec2.InstanceType('m5.large')], onDemandPercentageAboveBaseCapacity: 150 }),
      /invalid "onDemandPercentageAboveBaseCapacity": must be an integer between 0 and 100/],
    ['an immutable BYO role with extraPolicyStatements', (stack) => ({
      role: iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::123456789012:role/workers', { mutable: false }),
      extraPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })],
    }), /invalid "extraPolicyStatements": the given role is immutable/],
    ['a gp3 throughput out of range', () => ({ rootVolume: { throughput: 2000 } }), /invalid "rootVolume.throughput": must be an integer between 125 and 1000/],
    ['a volume key on an unencrypted volume', (stack) => ({ rootVolume: { encrypted: false, encryptionKey: new (require('aws-cdk-lib/aws-kms').Key)(stack, 'K') } }),
      /invalid "rootVolume.encryptionKey": is set but rootVolume.encrypted is false/],
    ['an empty securityGroups', () => ({ securityGroups: [] }), /invalid "securityGroups": must not be empty/],
    ['plain-text credentials', () => ({ credentials: WorkerPoolCredentials.fromValues(SecretValue.unsafePlainText('x'), SecretValue.unsafePlainText('y')) }),
      /invalid "credentials \(token\)": is a plain-text SecretValue/],
    ['BYO secret key names that are not shell-safe', (stack) => ({
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'S', 's'), { tokenKey: "to'ken" }),
      spaceliftApiKey: testApiKey(),
    }), /invalid "credentials \(tokenKey\)"/],
    ['BYO secret with the same key twice', (stack) => ({
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'S', 's'), { tokenKey: 'a', privateKeyKey: 'a' }),
      spaceliftApiKey: testApiKey(),
    }), /invalid "credentials \(privateKeyKey\)": must differ from tokenKey/],
  ])('%s', (_name, overrides, message) => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, ...overrides(stack) })).toThrow(message);
  });

  // A CfnParameter (or an import) where the construct needs the value at synth: refused naming the prop, not a
  // crash deep in aws-cdk-lib, a garbage number, or a value packed into user data CloudFormation cannot resolve.
  const parameter = (stack: Stack, name: string) => new CfnParameter(stack, name, { type: 'Number' }).valueAsNumber;
  test.each<[string, (stack: Stack) => Record<string, unknown>, string]>([
    ['instanceType', (stack) => ({ instanceType: new ec2.InstanceType(new CfnParameter(stack, 'T').valueAsString) }), 'instanceType'],
    ['instanceTypes', (stack) => ({ instanceTypes: [new ec2.InstanceType(new CfnParameter(stack, 'T').valueAsString)] }), 'instanceTypes'],
    ['poweroffDelay', (stack) => ({ poweroffDelay: Duration.seconds(parameter(stack, 'P')) }), 'poweroffDelay'],
    ['logRetention', (stack) => ({ logRetention: parameter(stack, 'R') }), 'logRetention'],
    ['rootVolume.throughput', (stack) => ({ rootVolume: { throughput: parameter(stack, 'Tp') } }), 'rootVolume.throughput'],
    ['autoscaling.maxTerminatePerTick', (stack) => ({ autoscaling: { maxTerminatePerTick: parameter(stack, 'M') } }), 'autoscaling.maxTerminatePerTick'],
    ['autoscaling.maxStraysPerTick', (stack) => ({ autoscaling: { maxStraysPerTick: parameter(stack, 'M') } }), 'autoscaling.maxStraysPerTick'],
    ['warmPool.minSize', (stack) => ({ warmPool: { minSize: parameter(stack, 'W') } }), 'warmPool.minSize'],
    ['warmPool.maxGroupPreparedCapacity', (stack) => ({ warmPool: { maxGroupPreparedCapacity: parameter(stack, 'W') } }),
      'warmPool.maxGroupPreparedCapacity'],
  ])('%s as a token is refused, naming it', (_name, overrides, prop) => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, ...overrides(stack) }))
      .toThrow(new RegExp(`invalid "${prop.replace('.', '\\.')}": must be known at synth, not a token`));
  });

  test('a VPC without private subnets asks for vpcSubnets', () => {
    const { stack, props } = poolStack();
    const vpc = new ec2.Vpc(stack, 'PublicOnly', { subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', { ...props, vpc }))
      .toThrow(/invalid "vpcSubnets": is needed: by default the workers go to private subnets with egress, and the VPC has none/);
  });

  test('the default image in an environment-agnostic stack asks for an env', () => {
    const stack = new Stack(recommendedApp(), 'Agnostic');
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', {
      vpc: new ec2.Vpc(stack, 'Vpc'),
      workerPoolId: POOL_ID,
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'S', 's')),
      spaceliftApiKey: testApiKey(),
    })).toThrow(/invalid "machineImage": the default Spacelift AMI is looked up per account and region/);
  });

  test('a role of another stack gets its grants as a policy of the pool\'s stack, without a reference cycle', () => {
    const { app, stack, props } = poolStack();
    const iamStack = new Stack(app, 'Iam', { env: { account: '123456789012', region: 'eu-west-1' } });
    // With a path: an import by ARN would take the first path part ("workers") for the role's name.
    const role = new iam.Role(iamStack, 'Workers', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'), path: '/workers/' });
    const workers = new SpaceliftWorkerPool(stack, 'Pool', { ...props, role });
    const template = Template.fromStack(stack);
    // The grants (the credentials secret, the log groups) are a policy in the pool's stack, on the role by its name.
    const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => /Fn::ImportValue|"StackName":"Iam"/.test(JSON.stringify(p.Properties.Roles)));
    expect(policies.length).toBeGreaterThan(0);
    expect(JSON.stringify(policies)).toContain('secretsmanager:GetSecretValue');
    for (const policy of policies) expect(JSON.stringify(policy.Properties.Roles)).not.toContain('Fn::Split');
    // The pool exposes the role itself (its ARN keeps the path).
    expect(workers.role).toBe(role);
    expect(Template.fromStack(iamStack).findResources('AWS::IAM::Policy')).toEqual({});
    expect(() => app.synth()).not.toThrow();
  });

  test('a mutable imported role takes extra statements', () => {
    const { stack, props } = poolStack();
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', {
      ...props,
      role: iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::123456789012:role/workers'),
      extraPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })],
    })).not.toThrow();
  });
});
