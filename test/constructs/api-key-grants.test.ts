/** What each function role may do with the Spacelift API key secret (lib/spacelift-api-key.ts). */
import { CfnParameter, type Stack } from 'aws-cdk-lib';
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

// An alias ARN in a policy's Resource covers the alias only, not its key (KMS "Use aliases to control access").
test.each([
  ['an imported alias', (stack: Stack) => kms.Alias.fromAliasName(stack, 'Imported', 'alias/spacelift'), 'alias/spacelift'],
  // The alias name is a Ref to the alias, which CloudFormation resolves to its name.
  ['an alias of the stack', (stack: Stack) => new kms.Alias(stack, 'Own', { aliasName: 'alias/spacelift', targetKey: new kms.Key(stack, 'Target') }),
    { Ref: expect.stringMatching(/^Own/) }],
])('the key given as %s: Decrypt on the keys the alias names, only through SSM for the parameter', (_name, aliasOf, alias) => {
  const { stack, props } = poolOnlyStack((s) => ({
    spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY', parameterName: PARAMETER, encryptionKey: aliasOf(s),
    }),
  }));
  const pool = new SpaceliftWorkerPool(stack, 'Pool', props);
  const roleId = stack.getLogicalId(pool.drain.function.role!.node.defaultChild as any);
  const statements = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
  const decrypt = statements.find((s) => s.Action === 'kms:Decrypt');
  expect(decrypt).toEqual({
    Action: 'kms:Decrypt',
    Effect: 'Allow',
    Resource: 'arn:aws:kms:eu-west-1:123456789012:key/*',
    Condition: {
      'StringEquals': {
        'kms:ViaService': 'ssm.eu-west-1.amazonaws.com',
        'kms:EncryptionContext:PARAMETER_ARN': 'arn:aws:ssm:eu-west-1:123456789012:parameter/spacelift/api-key',
      },
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias },
    },
  });
});

test('a parameter name given as a token (a CfnParameter) synthesizes, with the name in the ARN as it is', () => {
  const { stack, props } = poolOnlyStack((s) => ({
    spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
      parameterName: new CfnParameter(s, 'ApiKeyParameter', { default: '/spacelift/api-key' }).valueAsString,
    }),
  }));
  new SpaceliftWorkerPool(stack, 'Pool', props);
  expect(() => Template.fromStack(stack)).not.toThrow();
});
