import { Stack, type StackProps } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * Two stopped, pre-initialized workers in a warm pool: a burst starts them instead of booting new
 * instances, and the group refills the warm pool behind it.
 */
export class WarmPoolExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const credentials = secretsmanager.Secret.fromSecretNameV2(this, 'PoolCredentials', 'spacelift/warm-pool');
    new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y7E',
      credentials: WorkerPoolCredentials.fromSecret(credentials),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      maxSize: 10,
      warmPool: { minSize: 2, poolState: autoscaling.PoolState.STOPPED },
    });
  }
}
