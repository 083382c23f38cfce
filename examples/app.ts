import { App } from 'aws-cdk-lib';
import { Arm64Example } from './arm64/stack';
import { BasicExample } from './basic/stack';
import { ByoSecretAndRoleExample } from './byo-secret-and-role/stack';
import { MonitoringExample } from './monitoring/stack';
import { SelfHostedExample } from './self-hosted/stack';
import { SelfRegisteredExample } from './self-registered/stack';
import { SpotExample } from './spot/stack';
import { WarmPoolExample } from './warm-pool/stack';
import { WebhookExample } from './webhook/stack';

/**
 * Every example, in one app. The account is a placeholder: cdk.json carries the context that the
 * AZ and AMI lookups would otherwise fetch, so `cdk synth` runs offline without credentials.
 */
export function buildExamples(app: App): App {
  const env = { account: '123456789012', region: 'us-east-1' };
  new BasicExample(app, 'Basic', { env });
  new Arm64Example(app, 'Arm64', { env });
  new SpotExample(app, 'Spot', { env });
  new ByoSecretAndRoleExample(app, 'ByoSecretAndRole', { env });
  new SelfHostedExample(app, 'SelfHosted', { env });
  new MonitoringExample(app, 'Monitoring', { env });
  new WarmPoolExample(app, 'WarmPool', { env });
  new WebhookExample(app, 'Webhook', { env });
  new SelfRegisteredExample(app, 'SelfRegistered', { env });
  return app;
}

if (require.main === module) {
  buildExamples(new App()).synth();
}
