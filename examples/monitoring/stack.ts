import { Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { exampleVpc } from '../example-network';

/**
 * A pool with its alarms sent to an encrypted SNS topic, the dashboard, cost allocation tags, and
 * one alarm of your own built from a `metric*()` method.
 */
export class MonitoringExample extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    // CloudWatch cannot publish to a topic under the AWS managed key: it needs a key whose policy lets it.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
    const key = new kms.Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'Spacelift worker pool alarms' });
    // Only for this account's alarms (the confused-deputy guard).
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      'kms:Decrypt', 'kms:GenerateDataKey*');
    const alarmTopic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });

    const pool = new SpaceliftWorkerPool(this, 'Pool', {
      vpc: exampleVpc(this),
      workerPoolId: '01J9ZQ4W8R6T2K3M5N7P9X1Y5C',
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(this, 'PoolCredentials', 'spacelift/pool')),
      spaceliftApiKey: SpaceliftApiKey.fromSecret({
        endpoint: 'https://acme.app.spacelift.io',
        apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'ApiKey', 'spacelift/api-key'),
      }),
      maxSize: 8,
      // Activate CostCenter (or WorkerPoolId) as a cost allocation tag in the Billing console.
      tags: { CostCenter: 'platform-ci' },
      monitoring: { alarmTopic, dashboard: true },
    });

    // Your own alarm: runs have waited in the queue for half an hour (every tick saw some pending).
    new cloudwatch.Alarm(this, 'QueueBacklog', {
      metric: pool.metricPendingRuns({ statistic: cloudwatch.Stats.MINIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 6,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Spacelift runs have queued for 30 minutes: the pool is at maxSize or capacity is not arriving',
    });
  }
}
