import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * Your own secret (with your key names and CMK) and your own instance role, plus what runs need:
 * read access to a Terraform state bucket.
 */
export class ByoSecretAndRoleExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const key = new kms.Key(this, 'PoolKey', { enableKeyRotation: true, description: 'Spacelift pool secrets and volumes' });
    const secret = secretsmanager.Secret.fromSecretAttributes(this, 'PoolCredentials', {
      secretCompleteArn: `arn:aws:secretsmanager:${this.region}:${this.account}:secret:platform/spacelift-pool-AbCdEf`,
      encryptionKey: key,
    });
    const role = new iam.Role(this, 'WorkerRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Spacelift workers with access to the state bucket',
    });
    new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y5C',
      credentials: WorkerPoolCredentials.fromSecret(secret, { tokenKey: 'token', privateKeyKey: 'private_key' }),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      role,
      extraPolicyStatements: [new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: ['arn:aws:s3:::acme-terraform-state/spacelift/*'],
      })],
      rootVolume: { encryptionKey: key },
      logEncryptionKey: key,
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:aws:s3:::acme-terraform-state/spacelift/*]',
      reason: 'Runs read and write any state object under the spacelift/ prefix of the state bucket.',
    });
  }
}
