import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeWildcards } from './nag';

/**
 * Suspends the ASG's `AZRebalance` process. CloudFormation has no property for suspended processes,
 * so a one-time SDK call does it. Rebalancing would launch and terminate workers on its own schedule;
 * our terminations are chosen by the autoscaler and go through the drain hook instead.
 */
export class SuspendAzRebalance extends Construct {
  constructor(scope: Construct, id: string, group: autoscaling.IAutoScalingGroup) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'AutoScaling',
      action: 'suspendProcesses',
      parameters: { AutoScalingGroupName: group.autoScalingGroupName, ScalingProcesses: ['AZRebalance'] },
      physicalResourceId: cr.PhysicalResourceId.of(`${group.autoScalingGroupName}-suspend-AZRebalance`),
    };
    const provider = SdkCallProviderIdentity.of(this);
    const resource = new cr.AwsCustomResource(this, 'Call', {
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      role: provider.role,
      logGroup: provider.logGroup,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['autoscaling:SuspendProcesses'], resources: [group.autoScalingGroupArn] }),
      ]),
    });
    acknowledgeWildcards(resource, { resources: [group.autoScalingGroupArn] },
      'autoscaling:SuspendProcesses is scoped to this pool\'s group; the ARN\'s only wildcard stands for the group UUID, which CloudFormation does not return.');
  }
}

/**
 * Role and log group of the stack-wide function behind AwsCustomResource. CDK makes that function a
 * per-stack singleton, so its identity is one too; it gets no AWS managed policy, only its own logs.
 */
class SdkCallProviderIdentity extends Construct {
  public static of(scope: Construct): SdkCallProviderIdentity {
    const stack = Stack.of(scope);
    const id = 'CdkEc2WorkerPoolSdkCallProvider';
    return (stack.node.tryFindChild(id) as SdkCallProviderIdentity | undefined) ?? new SdkCallProviderIdentity(stack, id);
  }

  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs one-time AWS SDK calls for cdk-ec2-workerpool pools in this stack',
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
  }
}
