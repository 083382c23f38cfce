import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerComms, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * Workers for a self-hosted Spacelift installation behind a corporate proxy:
 * - the launcher comes from your S3 bucket (of this account only) and must match the SHA256 pinned here;
 * - the workers poll your installation's URL, and run the launcher as a dedicated `spacelift` user;
 * - the proxy reaches the launcher, the Docker daemon and run containers (through the whitelist);
 * - runner images come from a private ECR repository (docker login before the launcher starts);
 * - a database password reaches runs as a Terraform variable, read from Secrets Manager into tmpfs.
 * A private CA would go in `launcher.caCertificates` (PEM text).
 */
/**
 * The SHA256 of the launcher binary of your Spacelift release (`sha256sum spacelift-launcher-x86_64`).
 * Pinned in code, so that nobody who can write to the bucket can swap the binary.
 */
const LAUNCHER_SHA256 = '0f6d2c1e4b8a9d3f7e5c1a2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d';

export class SelfHostedExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const credentials = secretsmanager.Secret.fromSecretNameV2(this, 'PoolCredentials', 'spacelift/self-hosted-pool');
    const launchers = s3.Bucket.fromBucketName(this, 'Launchers', 'acme-spacelift-launchers');
    const runnerImages = ecr.Repository.fromRepositoryName(this, 'RunnerImages', 'spacelift/runner-terraform');
    const database = secretsmanager.Secret.fromSecretNameV2(this, 'Database', 'platform/terraform-db');
    new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y6D',
      credentials: WorkerPoolCredentials.fromSecret(credentials),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://spacelift.acme.example',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      selfHosted: { launcherBucket: launchers, launcherObjectKey: 'v3.0.0/spacelift-launcher-x86_64', launcherSha256: LAUNCHER_SHA256 },
      launcher: {
        comms: WorkerComms.poll({ url: 'https://spacelift.acme.example' }),
        proxy: {
          httpProxy: 'http://proxy.acme.internal:3128',
          httpsProxy: 'http://proxy.acme.internal:3128',
          noProxy: ['.acme.internal', '10.0.0.0/8'],
        },
        defaultRunnerImage: `${runnerImages.repositoryUri}:1.9`,
        secretEnvironment: { TF_VAR_db_password: { secret: database, jsonKey: 'password' } },
        whitelistEnvs: ['TF_VAR_db_password'],
        maskEnvs: ['TF_VAR_db_password'],
        runTimeout: Duration.hours(2),
      },
      preStartHooks: {
        ecrRepositories: [runnerImages],
        commands: ['install -d -m 0755 /var/cache/terraform-plugins'],
      },
      maxSize: 4,
    });
  }
}
