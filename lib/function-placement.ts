import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ISpaceliftApiKeyConfig } from './spacelift-api-key';

/** Where and how the pool's Lambda functions run. */
export interface FunctionPlacement {
  /**
   * Runs the function in a VPC, e.g. to reach a self-hosted Spacelift. The subnets need egress to
   * Spacelift and to the AWS APIs.
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function, with `vpc`.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups for the function, with `vpc`.
   * @default - a new group with no ingress
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * X-Ray tracing.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
}

/** What a pool hands to each of its functions (the drain and the autoscaler). */
export interface PoolFunctionProps {
  /** The pool's group. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The resolved Spacelift API key. */
  readonly spaceliftApiKey: ISpaceliftApiKeyConfig;
  /** The Spacelift worker pool id. */
  readonly workerPoolId: string;
  /**
   * VPC placement and tracing.
   * @default - outside any VPC, no tracing
   */
  readonly placement?: FunctionPlacement;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Key for the function's log group.
   * @default - CloudWatch Logs default encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Permissions boundary for the function's role.
   * @default - none
   */
  readonly permissionsBoundary?: iam.IManagedPolicy;
}
