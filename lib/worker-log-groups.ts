import { RemovalPolicy, Stack, Annotations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props of the launcher log groups. */
export interface WorkerLogGroupsProps {
  /**
   * How long launcher logs are kept.
   * @default logs.RetentionDays.TWO_MONTHS
   */
  readonly retention?: logs.RetentionDays;
  /**
   * Customer managed key for the log groups.
   * @default - CloudWatch Logs default encryption
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the logs when the pool is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The launcher's info and error log groups of one pool.
 *
 * CloudFormation names them, so two pools in one account and region never share a group
 * (the Terraform module's fixed `spacelift-info.log` names collide).
 */
export class WorkerLogGroups extends Construct {
  /** Receives `/var/log/spacelift/info.log`. */
  public readonly infoLog: logs.LogGroup;
  /** Receives `/var/log/spacelift/error.log`. */
  public readonly errorLog: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkerLogGroupsProps = {}) {
    super(scope, id);
    const common: logs.LogGroupProps = {
      retention: props.retention ?? logs.RetentionDays.TWO_MONTHS,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.infoLog = new logs.LogGroup(this, 'Info', common);
    this.errorLog = new logs.LogGroup(this, 'Error', common);
    if (props.encryptionKey) {
      allowLogsServiceToUseKey(this, props.encryptionKey);
    }
  }

  /** Lets the instance's CloudWatch agent write to both groups. */
  public grantWrite(grantee: iam.IGrantable): void {
    for (const group of [this.infoLog, this.errorLog]) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [group.logGroupArn],
      }));
    }
  }
}

/**
 * CloudWatch Logs can only create a group encrypted with a CMK whose key policy lets the regional
 * logs service use it. A key from another stack cannot be changed here, so say what to do instead.
 *
 * The key is good for this stack's log groups only. Every log group of the pool (these two, and the
 * functions' groups, which use the same key) is named by CloudFormation `<stack name>-<logical id>-<suffix>`,
 * so the stack-name prefix matches them all. Their ARNs themselves cannot be named here: the groups
 * depend on the key, so the key policy cannot depend on them. In a nested stack the prefix is the
 * top-level stack's name: a nested stack's own name is a deploy-time value (a reference to it from a
 * key in the parent would be a dependency cycle), and CloudFormation names nested stacks
 * `<parent name>-<logical id>-<suffix>`, so their log groups carry the parent's prefix too.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 */
function allowLogsServiceToUseKey(scope: Construct, key: kms.IKey): void {
  const stack = topLevelStack(Stack.of(scope));
  const result = key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${stack.stackName}-*`,
      },
    },
  }));
  if (!result.statementAdded) {
    Annotations.of(scope).addWarningV2('cdk-ec2-workerpool:logKeyPolicy',
      'logEncryptionKey is imported, so its key policy cannot be changed here: allow the principal '
      + `logs.<region>.amazonaws.com to use it, or the log groups will fail to create`);
  }
}

function topLevelStack(stack: Stack): Stack {
  return stack.nestedStackParent ? topLevelStack(stack.nestedStackParent) : stack;
}
