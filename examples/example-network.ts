import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** A two-AZ VPC with one NAT gateway and flow logs, as a typical place to run workers. */
export function exampleVpc(scope: Construct): ec2.Vpc {
  return new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    flowLogs: { All: { trafficType: ec2.FlowLogTrafficType.ALL } },
  });
}
