/**
 * The CDK app the integ tests deploy into moto with the pinned CLI:
 *   cdk deploy --app "<ts-node> --transpile-only --prefer-ts-exts test/integ/app/pool-app.ts" -c integ:amiId=...
 *
 * Everything moto's CloudFormation cannot create is made in moto by the test first and imported here
 * (moto silently skips AWS::SecretsManager::Secret, so a Ref to one would resolve to nothing):
 * - integ:amiId                 an AMI moto preloads (moto rejects launches from unknown images)
 * - integ:credentialsSecretArn  the pool token and key (WorkerPoolCredentials.fromSecret)
 * - integ:apiKeySecretArn       the Spacelift API key secret (SpaceliftApiKey.fromSecret)
 */
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  ScaleDownDelay,
  SpaceliftApiKey,
  SpaceliftWorkerPool,
  WorkerImage,
  WorkerPoolCredentials,
} from '../../../lib';
import { recommendedApp } from '../../support/recommended-app';
import { ACCOUNT, REGION } from '../support/moto';
import { API_KEY_ID, OUTPUTS, STACK_NAME, WORKER_POOL_ID } from './constants';

const app = recommendedApp();
const context = (name: string): string => {
  const value: unknown = app.node.tryGetContext(`integ:${name}`);
  if (typeof value !== 'string' || value === '') throw new Error(`context integ:${name} is required (-c integ:${name}=...)`);
  return value;
};

const stack = new Stack(app, STACK_NAME, { env: { account: ACCOUNT, region: REGION } });
// Explicit AZs: no lookup, so synth needs no AWS call.
const vpc = new ec2.Vpc(stack, 'Vpc', {
  availabilityZones: [`${REGION}a`, `${REGION}b`],
  natGateways: 1,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
    { name: 'workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
  ],
});

const pool = new SpaceliftWorkerPool(stack, 'Pool', {
  vpc,
  workerPoolId: WORKER_POOL_ID,
  credentials: WorkerPoolCredentials.fromSecret(
    secretsmanager.Secret.fromSecretCompleteArn(stack, 'PoolCredentials', context('credentialsSecretArn')),
  ),
  spaceliftApiKey: SpaceliftApiKey.fromSecret({
    // The construct only accepts https; the control-loop test points the handlers at the fake instead.
    endpoint: 'https://integ.app.spacelift.io',
    apiKeyId: API_KEY_ID,
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'ApiKey', context('apiKeySecretArn')),
  }),
  machineImage: WorkerImage.fromMachineImage(
    ec2.MachineImage.genericLinux({ [REGION]: context('amiId') }),
    ec2.InstanceArchitecture.X86_64,
  ),
  maxSize: 8,
  autoscaling: {
    // The control-loop test waits no real time for idle workers.
    scaleDownDelay: ScaleDownDelay.constant(Duration.seconds(0)),
  },
  // Re-checks of a busy worker come back after 1 s instead of a minute (SQS DelaySeconds).
  drain: { recheckInterval: Duration.seconds(1) },
});

const output = (id: keyof typeof OUTPUTS, value: string) => new CfnOutput(stack, OUTPUTS[id], { value });
output('asgName', pool.autoScalingGroup.autoScalingGroupName);
output('launchTemplateId', pool.launchTemplate.launchTemplateId!);
output('queueUrl', pool.drain.queue.queueUrl);
output('deadLetterQueueUrl', pool.drain.deadLetterQueue.queueUrl);
output('drainFunctionName', pool.drain.function.functionName);
output('autoscalerFunctionName', pool.autoscaler!.functionName);
output('instanceRoleName', pool.role.roleName);
