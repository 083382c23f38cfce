import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

// Physical names that are unique per account and region. Setting any of them to a constant would
// make two pools in one account collide, so the library leaves them all to CloudFormation.
const GLOBAL_NAME_PROPERTIES = [
  'AutoScalingGroupName', 'LaunchTemplateName', 'RoleName', 'InstanceProfileName', 'LogGroupName', 'Name',
  'QueueName', 'FunctionName', 'GroupName', 'PolicyName', 'ManagedPolicyName', 'LifecycleHookName', 'RuleName', 'ScheduleName',
];

test('two pools in one stack, and in two stacks of one account, share no physical name', () => {
  const app = recommendedApp();
  const env = { account: '123456789012', region: 'eu-west-1' };
  const stacks = ['One', 'Two'].map((name) => {
    const stack = new Stack(app, name, { env });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    for (const pool of ['PoolA', 'PoolB']) {
      new SpaceliftWorkerPool(stack, pool, {
        vpc,
        workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
        credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, `${pool}Creds`, `spacelift/${pool}`)),
        spaceliftApiKey: testApiKey(),
        machineImage: WorkerImage.fromMachineImage(ec2.MachineImage.latestAmazonLinux2023(), ec2.InstanceArchitecture.X86_64),
      });
    }
    return stack;
  });

  const explicitNames: string[] = [];
  for (const stack of stacks) {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    for (const [logicalId, resource] of Object.entries(resources)) {
      for (const prop of GLOBAL_NAME_PROPERTIES) {
        const value = resource.Properties?.[prop];
        // A literal is a fixed name; a Ref/GetAtt only points at another resource. IAM inline
        // policy names are scoped to their role, not to the account.
        if (typeof value === 'string' && !(resource.Type === 'AWS::IAM::Policy' && prop === 'PolicyName')) {
          explicitNames.push(`${stack.stackName}/${logicalId}.${prop}=${JSON.stringify(value)}`);
        }
      }
    }
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(2);
  }
  expect(explicitNames).toEqual([]);
});
