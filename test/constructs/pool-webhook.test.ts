import * as fs from 'fs';
import * as path from 'path';
import { Duration, SecretValue, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { WEBHOOK_SERVICE } from '../../lambda/shared/metrics';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS, DEFAULT_REPLAY_WINDOW_SECONDS } from '../../lambda/webhook/config';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials, type PoolWebhookOptions, type SpaceliftWorkerPoolProps } from '../../lib';
import { poolOnlyStack } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

const API_KEY_SECRET_NAME = 'spacelift/api-key';

/** A pool whose API key is a Secrets Manager secret, so that "reads only its own secret" has another secret to miss. */
function synth(webhook: PoolWebhookOptions | undefined, overrides: (stack: Stack) => Partial<SpaceliftWorkerPoolProps> = () => ({})) {
  const { stack, props } = poolOnlyStack((s) => ({
    spaceliftApiKey: SpaceliftApiKey.fromSecret({
      endpoint: 'https://acme.app.spacelift.io',
      apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
      secret: secretsmanager.Secret.fromSecretNameV2(s, 'ApiKey', API_KEY_SECRET_NAME),
    }),
    webhook,
    ...overrides(s),
  }));
  const pool = new SpaceliftWorkerPool(stack, 'Pool', props);
  return { stack, pool, template: Template.fromStack(stack) };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** Statements of every policy attached to a role, inline or as a policy resource. */
function roleStatements(template: Template, roleId: string): any[] {
  const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: unknown) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })));
  const inline = template.toJSON().Resources[roleId].Properties.Policies ?? [];
  return [...policies, ...inline.map((p: any) => ({ Properties: p }))].flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function webhookParts(stack: Stack, pool: SpaceliftWorkerPool) {
  const fn = pool.webhook!.function;
  const functionId = stack.getLogicalId(fn.node.defaultChild as never);
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as never);
  const secretId = stack.getLogicalId(pool.webhook!.secret.node.defaultChild as never);
  const autoscalerId = logicalId(stack, pool.autoscaler!);
  return { functionId, roleId, secretId, autoscalerId };
}

describe('with webhook', () => {
  const { stack, pool, template } = synth({});
  const { functionId, roleId, secretId, autoscalerId } = webhookParts(stack, pool);

  test('a public function URL: no IAM auth (the HMAC signature is the authentication), no CORS, buffered', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      TargetFunctionArn: { 'Fn::GetAtt': [functionId, 'Arn'] },
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
      Cors: Match.absent(),
    });
    // What Lambda requires of a URL without IAM auth since October 2025: both permissions, the second only through the URL.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] }, Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] }, Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true,
    });
    // Nothing else of the pool is public.
    const publicPermissions = Object.values<any>(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: '*' } }));
    expect(publicPermissions.map((p) => p.Properties.FunctionName)).toEqual([
      { 'Fn::GetAtt': [functionId, 'Arn'] }, { 'Fn::GetAtt': [functionId, 'Arn'] },
    ]);
  });

  test('one concurrent execution, JSON logs to a log group of its own', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ WEBHOOK_SECRET_ARN: Match.anyValue() }) },
      ReservedConcurrentExecutions: 10,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^PoolWebhookHandlerLogs') } },
    });
  });

  test('its environment names the signing secret and the autoscaler, and nothing of the Spacelift API', () => {
    const variables = template.toJSON().Resources[functionId].Properties.Environment.Variables;
    expect(variables).toEqual({
      WEBHOOK_SECRET_ARN: { Ref: secretId },
      AUTOSCALER_FUNCTION_NAME: { 'Fn::GetAtt': [autoscalerId, 'Arn'] },
      MIN_TRIGGER_INTERVAL_SECONDS: String(DEFAULT_MIN_TRIGGER_INTERVAL_SECONDS),
      MAX_BODY_BYTES: String(DEFAULT_MAX_BODY_BYTES),
      REPLAY_WINDOW_SECONDS: String(DEFAULT_REPLAY_WINDOW_SECONDS),
      POWERTOOLS_SERVICE_NAME: WEBHOOK_SERVICE,
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    });
  });

  test('its role may invoke only the autoscaler and read only the signing secret, not the Spacelift API key', () => {
    const statements = roleStatements(template, roleId);
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: { Ref: secretId } },
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [autoscalerId, 'Arn'] } },
    ]);
    expect(JSON.stringify(statements)).not.toContain(API_KEY_SECRET_NAME);
    // The autoscaler still reads the API key: the option only concerns the webhook.
    expect(JSON.stringify(roleStatements(template, logicalId(stack, pool.autoscaler!.role! as never)))).toContain(API_KEY_SECRET_NAME);
  });

  test('the signing secret is generated by Secrets Manager: 64 letters and digits, never a value in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      SecretString: Match.absent(),
      KmsKeyId: Match.absent(),
    });
    // Nothing resolves the secret into the template either (a dynamic reference would put it in a property).
    expect(JSON.stringify(template.toJSON())).not.toMatch(/resolve:secretsmanager/);
  });

  test('pool.webhook exposes the URL, the secret and the function', () => {
    expect(stack.resolve(pool.webhook!.url)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PoolWebhookHandlerFunctionFunctionUrl/), 'FunctionUrl'] });
    expect(stack.resolve(pool.webhook!.secret.secretArn)).toEqual({ Ref: secretId });
    expect(stack.resolve(pool.webhook!.function.functionArn)).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
  });
});

test('without webhook there is no URL, no signing secret and no webhook function', () => {
  const { pool, template } = synth(undefined);
  expect(pool.webhook).toBeUndefined();
  template.resourceCountIs('AWS::Lambda::Url', 0);
  template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  expect(template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: Match.objectLike({ WEBHOOK_SECRET_ARN: Match.anyValue() }) } },
  })).toEqual({});
  expect(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: '*' } })).toEqual({});
});

test('options reach the function as whole seconds and bytes', () => {
  const { stack, pool, template } = synth({
    minTriggerInterval: Duration.seconds(10), maxBodySize: Size.kibibytes(16), replayWindow: Duration.minutes(10),
  });
  expect(template.toJSON().Resources[webhookParts(stack, pool).functionId].Properties.Environment.Variables).toEqual(expect.objectContaining({
    MIN_TRIGGER_INTERVAL_SECONDS: '10', MAX_BODY_BYTES: '16384', REPLAY_WINDOW_SECONDS: '600',
  }));
});

test('the permissions boundary applies to the webhook role', () => {
  const { stack, pool, template } = synth({}, (s) => ({
    permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(s, 'Boundary', 'org-boundary'),
  }));
  expect(template.toJSON().Resources[webhookParts(stack, pool).roleId].Properties.PermissionsBoundary)
    .toEqual('arn:aws:iam::123456789012:policy/org-boundary');
});

test('the signing secret takes the key of the credentials secret the pool creates', () => {
  const { stack, pool, template } = synth({}, (s) => {
    const key = new kms.Key(s, 'SecretsKey');
    return { credentials: WorkerPoolCredentials.fromValues(SecretValue.secretsManager('src', { jsonField: 'a' }), SecretValue.secretsManager('src', { jsonField: 'b' }), { encryptionKey: key }) };
  });
  const { secretId } = webhookParts(stack, pool);
  expect(template.toJSON().Resources[secretId].Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SecretsKey/), 'Arn'] });
});

describe('synth errors name the prop', () => {
  test('the webhook needs the autoscaler', () => {
    expect(() => synth({}, () => ({ autoscaling: { enabled: false } }))).toThrow(/invalid "webhook": needs the autoscaler/);
  });

  test.each<[string, PoolWebhookOptions, string]>([
    ['no interval', { minTriggerInterval: Duration.seconds(0) }, 'webhook.minTriggerInterval'],
    ['an interval over 30 s: a trailing tick waits 30 s at most, and would end before the interval', { minTriggerInterval: Duration.seconds(31) }, 'webhook.minTriggerInterval'],
    ['a fraction of a second', { minTriggerInterval: Duration.millis(1500) }, 'webhook.minTriggerInterval'],
    ['a body limit under 1 KiB', { maxBodySize: Size.bytes(1023) }, 'webhook.maxBodySize'],
    ['a body limit over what a function URL takes', { maxBodySize: Size.mebibytes(7) }, 'webhook.maxBodySize'],
    ['a replay window under 30 s', { replayWindow: Duration.seconds(10) }, 'webhook.replayWindow'],
    ['a replay window over an hour', { replayWindow: Duration.hours(2) }, 'webhook.replayWindow'],
  ])('%s', (_case, webhook, prop) => {
    expect(() => synth(webhook)).toThrow(new RegExp(`invalid "${prop.replace('.', '\\.')}"`));
  });
});

// The public URL is by design: cdk-nag packs that flag public Lambda permissions see the acknowledgement,
// in both ways users run cdk-nag, on the webhook function's permissions only.
describe('cdk-nag', () => {
  test.each([['NIST.800.53.R5', NIST80053R5Checks], ['HIPAA.Security', HIPAASecurityChecks]])('v3 %s: no public-access finding', (_pack, Checks) => {
    const { stack, props } = poolOnlyStack(() => ({ webhook: {} }));
    new SpaceliftWorkerPool(stack, 'Pool', props);
    const app = stack.node.root as ReturnType<typeof recommendedApp>;
    Validations.of(app).addPlugins(new Checks(app));
    try {
      app.synth();
    } catch {
      // The pack's other findings (not the subject here) fail the synth; the report is written anyway.
    }
    const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
    const rules = report.pluginReports.flatMap((plugin: any) => plugin.violations.map((v: any) => v.ruleName as string));
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.filter((rule: string) => rule.includes('LambdaFunctionPublicAccessProhibited'))).toEqual([]);
  });

  test('v2: the suppressions sit on the webhook function\'s resources only', () => {
    const { stack, pool, template } = synth({});
    const { functionId } = webhookParts(stack, pool);
    const suppressed = Object.entries<any>(template.toJSON().Resources)
      .filter(([, r]) => JSON.stringify(r.Metadata?.cdk_nag ?? {}).includes('LambdaFunctionPublicAccessProhibited'))
      .map(([id, r]) => [id, r.Type]);
    expect(suppressed).toEqual(expect.arrayContaining([
      [expect.stringMatching(/^PoolWebhookHandlerFunctioninvokefunctionurl/), 'AWS::Lambda::Permission'],
      [expect.stringMatching(/^PoolWebhookHandlerFunctioninvokefunction[A-F0-9]/), 'AWS::Lambda::Permission'],
    ]));
    // The function, its URL and its two permissions; nothing else of the pool.
    expect(suppressed.map(([, type]) => type).sort()).toEqual(['AWS::Lambda::Function', 'AWS::Lambda::Permission', 'AWS::Lambda::Permission', 'AWS::Lambda::Url']);
    expect(suppressed.find(([, type]) => type === 'AWS::Lambda::Function')![0]).toBe(functionId);
  });
});
