import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';

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
