import { Annotations, Lazy, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { acknowledgeWildcards } from './nag';
import { WorkerPoolConfigError } from './validation';

/** What the SDK call follows of its pool, like every other resource of the pool. */
export interface SuspendAzRebalanceProps {
  /** The pool's group. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** Retention of the pool's function log groups. */
  readonly logRetention: logs.RetentionDays;
  /** Key of the pool's log groups. */
  readonly logEncryptionKey?: kms.IKey;
  /** Permissions boundary of every role of the pool. */
  readonly permissionsBoundary?: iam.IManagedPolicy;
  /** The pool's tags. */
  readonly tags: { [key: string]: string };
}

/**
 * Suspends the ASG's `AZRebalance` process. CloudFormation has no property for suspended processes,
 * so a one-time SDK call does it. Rebalancing would launch and terminate workers on its own schedule;
 * our terminations are chosen by the autoscaler and go through the drain hook instead.
 */
export class SuspendAzRebalance extends Construct {
  constructor(scope: Construct, id: string, props: SuspendAzRebalanceProps) {
    super(scope, id);
    const group = props.autoScalingGroup;
    const call: cr.AwsSdkCall = {
      service: 'AutoScaling',
      action: 'suspendProcesses',
      parameters: { AutoScalingGroupName: group.autoScalingGroupName, ScalingProcesses: ['AZRebalance'] },
      physicalResourceId: cr.PhysicalResourceId.of(`${group.autoScalingGroupName}-suspend-AZRebalance`),
    };
    const provider = SdkCallProviderIdentity.of(this, props);
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
    provider.adoptFunction();
    acknowledgeWildcards(resource, { resources: [group.autoScalingGroupArn] },
      'autoscaling:SuspendProcesses is scoped to this pool\'s group; the ARN\'s only wildcard stands for the group UUID, which CloudFormation does not return.');
  }
}

/**
 * Role and log group of the stack-wide function behind AwsCustomResource. CDK makes that function a
 * per-stack singleton, so its identity is one too; it gets no AWS managed policy, only its own logs.
 * Every pool of the stack shares it, so it follows all of them at once: the longest log retention,
 * the tags they agree on, and the log key and permissions boundary, which must then be the same for
 * every pool that sets one.
 */
class SdkCallProviderIdentity extends Construct {
  public static of(pool: IConstruct, settings: SuspendAzRebalanceProps): SdkCallProviderIdentity {
    const stack = Stack.of(pool);
    const id = 'CdkEc2WorkerPoolSdkCallProvider';
    const identity = (stack.node.tryFindChild(id) as SdkCallProviderIdentity | undefined) ?? new SdkCallProviderIdentity(stack, id);
    identity.follow(pool, settings);
    return identity;
  }

  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  private retention?: logs.RetentionDays;
  private key?: kms.IKey;
  private boundary?: iam.IManagedPolicy;
  /** Tags every pool so far agrees on. */
  private tags?: Map<string, string>;
  /** The provider's function, once AwsCustomResource has made it: a child of the stack, not of this construct. */
  private function?: lambda.Function;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { removalPolicy: RemovalPolicy.DESTROY });
    // Known only once every pool of the stack has been added.
    const cfn = this.logGroup.node.defaultChild as logs.CfnLogGroup;
    cfn.retentionInDays = Lazy.number({ produce: () => (this.retention === logs.RetentionDays.INFINITE ? undefined : this.retention) });
    cfn.kmsKeyId = Lazy.string({ produce: () => this.key?.keyArn });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs one-time AWS SDK calls for cdk-ec2-workerpool pools in this stack',
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
    this.node.addValidation({ validate: () => this.sharedFunctionProblems() });
  }

  /**
   * aws-cdk-lib keeps the role of whichever AwsCustomResource of the stack came first: if that was not a pool's, the
   * pools' SuspendProcesses runs under another role and log group. With a permissions boundary that is an error (the
   * role lacks it); without one, a warning (only the pools' log settings are lost).
   */
  private sharedFunctionProblems(): string[] {
    const id = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
    const shared = Stack.of(this).node.tryFindChild(id) as lambda.Function | undefined;
    if (shared === undefined || shared.role === this.role) return [];
    const where = 'the stack\'s AwsCustomResource function was created by another construct before the first cdk-ec2-workerpool pool, '
      + 'with its own role: the pools\' one-time SDK call runs under that role';
    const fix = 'Create the pools before any other AwsCustomResource of this stack, or put them in a stack of their own';
    if (this.boundary === undefined) {
      Annotations.of(this).addWarningV2('cdk-ec2-workerpool:sharedSdkCallFunction', `${where}, without the pools' log group and retention. ${fix}`);
      return [];
    }
    return [`${where}, without the pools' permissions boundary. ${fix}`];
  }

  /** Tags the provider's function like the role and log group, so its cost is allocated with the pools'. */
  public adoptFunction(): void {
    if (this.function) return;
    this.function = Stack.of(this).node.children.find((child): child is lambda.Function =>
      child instanceof lambda.Function && child.role === this.role);
    for (const [key, value] of this.tags ?? []) if (this.function) Tags.of(this.function).add(key, value);
  }

  private follow(pool: IConstruct, settings: SuspendAzRebalanceProps): void {
    // RetentionDays.INFINITE (9999) is the largest value, so the longest retention wins.
    this.retention = Math.max(this.retention ?? 0, settings.logRetention);
    const key = this.same(pool, 'logEncryptionKey', this.key, settings.logEncryptionKey, (k) => k.keyArn);
    this.key = key;
    const boundary = this.same(pool, 'permissionsBoundary', this.boundary, settings.permissionsBoundary, (p) => p.managedPolicyArn);
    if (boundary !== undefined && this.boundary === undefined) {
      iam.PermissionsBoundary.of(this.role).apply(boundary);
    }
    this.boundary = boundary;
    this.followTags(settings.tags);
  }

  /** The one setting of every pool that gives one; two different ones cannot both apply. */
  private same<T>(pool: IConstruct, prop: string, current: T | undefined, next: T | undefined, arn: (value: T) => string): T | undefined {
    if (current === undefined || next === undefined) return current ?? next;
    const stack = Stack.of(this);
    if (JSON.stringify(stack.resolve(arn(current))) !== JSON.stringify(stack.resolve(arn(next)))) {
      throw new WorkerPoolConfigError(pool, prop,
        'differs from that of another pool in this stack. Pools of one stack share the role and log group of the '
        + 'stack-wide SDK-call provider that suspends AZRebalance; give them the same value, or put them in separate stacks');
    }
    return current;
  }

  private followTags(tags: { [key: string]: string }): void {
    if (this.tags === undefined) {
      this.tags = new Map(Object.entries(tags));
      for (const [key, value] of this.tags) Tags.of(this).add(key, value);
      return;
    }
    for (const [key, value] of [...this.tags]) {
      if (tags[key] !== value) {
        // A removal outranks an addition of the same key.
        Tags.of(this).remove(key);
        if (this.function) Tags.of(this.function).remove(key);
        this.tags.delete(key);
      }
    }
  }
}
