import { CfnParameter, Fn, SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { WorkerPoolCredentials } from '../../lib';
import { recommendedApp } from '../support/recommended-app';

// fromValues runs in apps with the recommended flags (`@aws-cdk/core:checkSecretUsage` among them),
// accepts only values CloudFormation resolves at deploy time, and names the prop otherwise.
function stack(): Stack {
  return new Stack(recommendedApp(), 'Creds', { env: { account: '123456789012', region: 'eu-west-1' } });
}

/** The pool secret's SecretString, as the template has it. */
function secretString(values: (stack: Stack) => [SecretValue, SecretValue]): string {
  const s = stack();
  WorkerPoolCredentials.fromValues(...values(s)).bind(s);
  const secrets = Template.fromStack(s).findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('Spacelift') } });
  return JSON.stringify(Object.values<any>(secrets)[0].Properties.SecretString);
}

describe('deploy-time references are accepted under checkSecretUsage', () => {
  test('Secrets Manager dynamic references, by name and by a token ARN', () => {
    const value = secretString((s) => [
      SecretValue.secretsManager('spacelift/pool', { jsonField: 'token' }),
      new secretsmanager.Secret(s, 'Source').secretValueFromJson('key'),
    ]);
    expect(value).toContain('{{resolve:secretsmanager:spacelift/pool:SecretString:token::}}');
    expect(value).toMatch(/\{\{resolve:secretsmanager:",\{"Ref":"Source[0-9A-F]+"\},":SecretString:key::\}\}/);
  });

  test('NoEcho parameters', () => {
    const value = secretString((s) => [
      SecretValue.cfnParameter(new CfnParameter(s, 'Token', { noEcho: true })),
      SecretValue.cfnParameter(new CfnParameter(s, 'Key', { noEcho: true })),
    ]);
    expect(value).toContain('{"Ref":"Token"}');
    expect(value).toContain('{"Ref":"Key"}');
  });
});

// CloudFormation resolves ssm-secure only in a short list of properties; SecretString is not one.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm-secure-strings.html
test('an SSM SecureString reference is refused with the reason, since CloudFormation would not resolve it', () => {
  const s = stack();
  expect(() => WorkerPoolCredentials.fromValues(SecretValue.ssmSecure('/spacelift/token'), SecretValue.ssmSecure('/spacelift/key')).bind(s))
    .toThrow(/invalid "credentials \(token\)": is an SSM SecureString reference, which CloudFormation does not resolve in a Secrets Manager secret/);
});

describe('anything that would land in the template is rejected, naming the prop', () => {
  const ok = () => SecretValue.secretsManager('spacelift/pool', { jsonField: 'key' });
  test.each<[string, (s: Stack) => SecretValue]>([
    ['a literal', () => SecretValue.unsafePlainText('c3BhY2VsaWZ0')],
    ['plain text inside Fn::Sub', () => SecretValue.unsafePlainText(Fn.sub('c3BhY2VsaWZ0-${AWS::Region}'))],
    ['plain text inside Fn::Join', () => SecretValue.unsafePlainText(Fn.join('-', ['c3BhY2VsaWZ0', Fn.ref('AWS::Region')]))],
    ['a dynamic reference followed by plain text', (s) =>
      SecretValue.unsafePlainText(Fn.join('', ['{{resolve:secretsmanager:', new secretsmanager.Secret(s, 'X').secretArn, '}}c3BhY2VsaWZ0']))],
    ['a plain (not SecureString) SSM dynamic reference', () => SecretValue.unsafePlainText('{{resolve:ssm:/spacelift/token}}')],
    ['a Ref of a parameter without NoEcho', (s) => SecretValue.unsafePlainText(new CfnParameter(s, 'Visible').valueAsString)],
    ['a pseudo parameter', () => SecretValue.unsafePlainText(Fn.ref('AWS::StackName'))],
    ['a resource attribute', (s) => SecretValue.resourceAttribute(new secretsmanager.CfnSecret(s, 'Other').attrId)],
  ])('%s', (_name, value) => {
    const s = stack();
    expect(() => WorkerPoolCredentials.fromValues(value(s), ok()).bind(s))
      .toThrow(/invalid "credentials \(token\)": is a plain-text SecretValue \(or plain text wrapped in a token\)/);
    const t = stack();
    expect(() => WorkerPoolCredentials.fromValues(ok(), value(t)).bind(t)).toThrow(/invalid "credentials \(privateKey\)"/);
  });
});
