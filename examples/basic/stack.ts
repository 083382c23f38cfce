import { CfnParameter, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * The smallest useful pool: x86 workers on the Spacelift AMI. The pool credentials come in as
 * NoEcho parameters at deploy time. The .config file Spacelift gives you is already the base64 token;
 * only the private key needs base64:
 *   cdk deploy Basic --parameters PoolToken=$(tr -d '\n' < pool.config) --parameters PoolPrivateKey=$(base64 -w0 pool.key)
 */
export class BasicExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const token = new CfnParameter(this, 'PoolToken', { noEcho: true, description: 'worker pool token: the .config file Spacelift gives you, already base64' });
    const privateKey = new CfnParameter(this, 'PoolPrivateKey', { noEcho: true, description: 'base64 PEM private key' });
    new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
      credentials: WorkerPoolCredentials.fromValues(SecretValue.cfnParameter(token), SecretValue.cfnParameter(privateKey)),
      // The autoscaler and the drain function read the API key secret from this SecureString parameter.
      spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        parameterName: '/spacelift/api-key-secret',
      }),
      maxSize: 5,
    });
  }
}
