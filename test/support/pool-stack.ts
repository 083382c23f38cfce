import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftApiKey, SpaceliftWorkerPool, type SpaceliftWorkerPoolProps, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { recommendedApp } from './recommended-app';

export const POOL_ID = '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z';

/** A stack with a VPC and the props every pool needs; tests override what they exercise. */
export function poolStack(overrides: Partial<SpaceliftWorkerPoolProps> = {}) {
  const app = recommendedApp();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool');
  const props: SpaceliftWorkerPoolProps = {
    vpc,
    workerPoolId: POOL_ID,
    credentials: WorkerPoolCredentials.fromSecret(secret),
    spaceliftApiKey: testApiKey(),
    machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
    ...overrides,
  };
  return { app, stack, vpc, props, build: () => new SpaceliftWorkerPool(stack, 'Pool', props) };
}

/**
 * A stack holding only the pool: an imported VPC (a new Vpc brings a custom resource role of its own) and an
 * imported secret, so every resource of the template is the pool's. `overrides` may create what they need in the stack.
 */
export function poolOnlyStack(overrides: (stack: Stack) => Partial<SpaceliftWorkerPoolProps> = () => ({})) {
  const stack = new Stack(recommendedApp(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-1', 'subnet-2'], privateSubnetRouteTableIds: ['rtb-1', 'rtb-2'],
  });
  const props: SpaceliftWorkerPoolProps = {
    vpc,
    vpcSubnets: { subnets: vpc.privateSubnets },
    workerPoolId: POOL_ID,
    credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool')),
    spaceliftApiKey: testApiKey(),
    machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
    ...overrides(stack),
  };
  return { stack, props };
}

/** An API key whose secret lives in an SSM SecureString parameter. */
export function testApiKey(name = '/spacelift/api-key'): SpaceliftApiKey {
  return SpaceliftApiKey.fromSecureStringParameter({ endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY', parameterName: name });
}
