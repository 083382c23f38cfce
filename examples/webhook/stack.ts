import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PollingMode, SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * A pool whose autoscaler ticks within seconds of a Spacelift run changing state: Spacelift calls the
 * pool's webhook endpoint, which checks the signature and invokes the autoscaler. The outputs are what
 * to enter in Spacelift.
 */
export class WebhookExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const pool = new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y8W',
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(this, 'PoolCredentials', 'spacelift/webhook-pool')),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      maxSize: 10,
      // The default, spelled out: invocations end once nothing is due, so a webhook's tick starts at once.
      autoscaling: { pollingMode: PollingMode.WHEN_NEEDED },
      webhook: {},
    });

    // Stack outputs without export names: nothing global, and the values are no secret.
    new CfnOutput(this, 'WebhookUrl', {
      description: 'Endpoint URL of the Spacelift webhook',
      value: pool.webhook!.url,
    });
    new CfnOutput(this, 'WebhookSecretArn', {
      description: 'Secret holding the webhook signing secret: aws secretsmanager get-secret-value --secret-id <arn>',
      value: pool.webhook!.secret.secretArn,
    });
  }
}
