import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

// Physical names that are unique per account and region. Setting any of them to a constant would
// make two pools in one account collide, so the library leaves them all to CloudFormation.
const GLOBAL_NAME_PROPERTIES = [
  'AutoScalingGroupName', 'LaunchTemplateName', 'RoleName', 'InstanceProfileName', 'LogGroupName', 'Name',
  'QueueName', 'FunctionName', 'GroupName', 'PolicyName', 'ManagedPolicyName', 'LifecycleHookName', 'RuleName', 'ScheduleName',
  'AlarmName', 'DashboardName', 'AliasName', 'TopicName', 'SecretName', 'ParameterName', 'WarmPoolName',
];

/** Whether a name is fixed: a literal, or built (Fn::Join, Fn::Sub) from nothing that differs between pools or stacks. */
function isFixed(value: unknown): boolean {
  if (typeof value === 'string') return true;
  const text = JSON.stringify(value);
  if (text === undefined) return false;
  // A reference to a resource of the stack or to the stack's own name makes it unique; region, account and
  // partition alone do not.
  const refs = [...text.matchAll(/"(?:Ref|Fn::GetAtt)":\s*(?:"([^"]+)"|\["([^"]+)")/g)].map((m) => m[1] ?? m[2]);
  const unique = refs.some((ref) => ref === 'AWS::StackName' || ref === 'AWS::StackId' || !ref.startsWith('AWS::'));
  return !unique && !text.includes('${AWS::StackName}');
}

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
        // Every option that creates resources of its own.
        autoscaling: { detailedMetrics: true },
        webhook: {},
        monitoring: { alarmTopic: new sns.Topic(stack, `${pool}Alarms`), dashboard: true },
        warmPool: { minSize: 1 },
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
        // IAM inline policy names are scoped to their role, not to the account.
        if (value !== undefined && isFixed(value) && !(resource.Type === 'AWS::IAM::Policy' && prop === 'PolicyName')) {
          explicitNames.push(`${stack.stackName}/${logicalId}.${prop}=${JSON.stringify(value)}`);
        }
      }
    }
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(2);
  }
  expect(explicitNames).toEqual([]);
});
