/** What each function role may do with the Spacelift API key secret (lib/spacelift-api-key.ts). */
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SpaceliftApiKey, SpaceliftWorkerPool } from '../../lib';
import { poolOnlyStack } from '../support/pool-stack';

const PARAMETER = '/spacelift/api-key';

test('an SSM SecureString under a customer managed key: GetParameter on it, and Decrypt only through SSM for it', () => {
  let key: kms.Key | undefined;
  const { stack, props } = poolOnlyStack((s) => {
    key = new kms.Key(s, 'ParamKey');
    return {
      spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
        endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY', parameterName: PARAMETER, encryptionKey: key,
      }),
    };
  });
  const pool = new SpaceliftWorkerPool(stack, 'Pool', props);
  const template = Template.fromStack(stack);
  const keyId = stack.getLogicalId(key!.node.defaultChild as kms.CfnKey);
  const parameterArn = 'arn:aws:ssm:eu-west-1:123456789012:parameter/spacelift/api-key';

  for (const role of [pool.drain.function.role!, pool.autoscaler!.role!]) {
    const roleId = stack.getLogicalId(role.node.defaultChild as any);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const touching = statements.filter((s) => JSON.stringify(s).includes('ssm:') || JSON.stringify(s.Resource).includes(keyId));
    expect(touching).toEqual([
      expect.objectContaining({ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: parameterArn }),
      {
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': parameterArn } },
      },
    ]);
  }
});
