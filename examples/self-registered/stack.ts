import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * A pool from nothing, in one `cdk deploy`: the stack creates the worker pool in Spacelift, and its
 * registration function writes the pool token and private key into a secret encrypted with a key of the
 * stack. No openssl, no CSR upload, no credential on a laptop or in the template.
 */
export class SelfRegisteredExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const pool = new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      credentials: WorkerPoolCredentials.register({
        name: 'aws-ec2-workers',
        description: 'EC2 workers of the SelfRegistered stack',
        labels: ['aws', 'ec2'],
        space: 'root',
        // Change it to reset the pool's credentials.
        resetGeneration: '1',
        encryptionKey: new kms.Key(this, 'CredentialsKey', { enableKeyRotation: true, description: 'Spacelift worker pool credentials' }),
      }),
      // The key needs the Worker pool controller role (or Space admin) on the space, and Worker Pool: Drain Worker.
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      maxSize: 5,
    });

    // The id Spacelift gave the pool: not a secret.
    new CfnOutput(this, 'WorkerPoolId', { description: 'Id of the Spacelift worker pool', value: pool.workerPoolId });
  }
}
