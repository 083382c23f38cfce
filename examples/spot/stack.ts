import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * Mixed on-demand and spot: two on-demand workers always, then 25% on-demand above that, spread
 * over three similar types with price-capacity-optimized allocation and capacity rebalancing.
 */
export class SpotExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const credentials = secretsmanager.Secret.fromSecretNameV2(this, 'PoolCredentials', 'spacelift/spot-pool');
    new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y4B',
      credentials: WorkerPoolCredentials.fromSecret(credentials),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      instanceTypes: [
        ec2.InstanceType.of(ec2.InstanceClass.M6I, ec2.InstanceSize.LARGE),
        ec2.InstanceType.of(ec2.InstanceClass.M5, ec2.InstanceSize.LARGE),
        ec2.InstanceType.of(ec2.InstanceClass.M7I, ec2.InstanceSize.LARGE),
      ],
      onDemandBaseCapacity: 2,
      onDemandPercentageAboveBaseCapacity: 25,
      capacityRebalance: true,
      maxSize: 20,
    });
  }
}
