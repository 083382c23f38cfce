import * as fs from 'fs';
import * as path from 'path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerImage, WorkerPoolCredentials } from '../../lib';
import { buildExamples, exampleApp } from '../support/example-app';
import { POOL_ID, testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

/** Synthesizes the app; returns the synth error, if any, and the findings of the validation report, as `rule at path`. */
function synthFindings(app: App): { failure: unknown; findings: string[] } {
  let failure: unknown;
  try {
    app.synth();
  } catch (error) {
    failure = error;
  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  // With the recommended flags, the pool's warnings about legal-but-risky settings (spot in the spot
  // example) are listed in the same report by the 'Construct Annotations' plugin; they are not findings.
  const findings = report.pluginReports.filter((plugin: any) => plugin.pluginName !== 'Construct Annotations')
    .flatMap((plugin: any) => plugin.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} at ${c.constructPath}`)));
  return { failure, findings };
}

// The gate: every example stack passes AwsSolutions with zero unacknowledged findings, and every
// acknowledgement the library ships carries a reason.
test('cdk-nag AwsSolutions finds nothing unacknowledged in any example', () => {
  const app = exampleApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  buildExamples(app);

  const { failure, findings } = synthFindings(app);
  expect(findings).toEqual([]);
  expect(failure).toBeUndefined();
});

// Tracing in either mode, on every function the pool can have: X-Ray's "*" is acknowledged on a policy of its own,
// never left on a role's default policy (lambda.Function would put it there).
test.each([lambda.Tracing.ACTIVE, lambda.Tracing.PASS_THROUGH])('tracing %s adds no unacknowledged finding', (tracing) => {
  const app = recommendedApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Traced', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const pool = new SpaceliftWorkerPool(stack, 'Pool', {
    vpc,
    credentials: WorkerPoolCredentials.register({ name: 'traced' }),
    spaceliftApiKey: testApiKey(),
    machineImage: WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-0123456789abcdef0' }),
    functionPlacement: { tracing },
    webhook: {},
  });
  // The test's VPC has findings of its own (no flow log): only the pool's count.
  expect(synthFindings(app).findings.filter((finding) => finding.includes(' at Traced/Pool/'))).toEqual([]);
  const template = Template.fromJSON(JSON.parse(fs.readFileSync(path.join(app.outdir, `${stack.artifactId}.template.json`), 'utf8')));
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { TracingConfig: { Mode: tracing } } });
  expect(Object.keys(functions).length).toBeGreaterThanOrEqual(4);
  expect(pool.webhook).toBeDefined();
});

// An API key parameter under a key given by alias: kms:Decrypt on key/* (limited by the alias condition) is acknowledged.
test('an API key parameter encrypted under a key alias adds no unacknowledged finding', () => {
  const app = recommendedApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Aliased', { env: { account: '123456789012', region: 'eu-west-1' } });
  new SpaceliftWorkerPool(stack, 'Pool', {
    vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-0123456789abcdef0'] }),
    workerPoolId: POOL_ID,
    credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool')),
    spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY', parameterName: '/spacelift/api-key',
      encryptionKey: kms.Alias.fromAliasName(stack, 'KeyAlias', 'alias/spacelift'),
    }),
    machineImage: WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-0123456789abcdef0' }),
  });
  expect(() => app.synth()).not.toThrow();
});

// The library's acknowledgements of "*" sit on policies of their own, never on a role: a wildcard the
// user adds to a role of the pool (extraPolicyStatements, a grant, or the function roles) stays a finding.
test('a wildcard the user adds to any role of the pool is still reported', () => {
  const app = recommendedApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'UserWildcards', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const pool = new SpaceliftWorkerPool(stack, 'Pool', {
    vpc,
    workerPoolId: POOL_ID,
    credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Creds', 'spacelift/pool')),
    spaceliftApiKey: testApiKey(),
    machineImage: WorkerImage.fromAmiMap({ 'eu-west-1': 'ami-0123456789abcdef0' }),
    functionPlacement: { vpc, tracing: lambda.Tracing.ACTIVE },
    preStartHooks: { ecrRepositories: [new ecr.Repository(stack, 'Images')] },
    extraPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: ['*'] })],
  });
  pool.drain.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: ['*'] }));
  pool.autoscaler!.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:DeleteQueue'], resources: ['*'] }));

  expect(() => app.synth()).toThrow();
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  const wildcardsAt = report.pluginReports.flatMap((plugin: any) => plugin.violations)
    .filter((v: any) => v.ruleName === 'AwsSolutions-IAM5[Resource::*]')
    .flatMap((v: any) => v.violatingConstructs.map((c: any) => c.constructPath as string));
  expect(wildcardsAt.sort()).toEqual([
    'UserWildcards/Pool/Autoscaler/Handler/Role/DefaultPolicy/Resource',
    'UserWildcards/Pool/Drain/Handler/Role/DefaultPolicy/Resource',
    'UserWildcards/Pool/InstanceRole/DefaultPolicy/Resource',
  ]);

  // cdk-nag v2 reads metadata: no suppression of "*" may sit on the roles' default policies either.
  const v2Suppressions = (construct: IConstruct) => JSON.stringify(construct.node.metadata.filter((m) => m.type === 'cdk_nag'));
  for (const role of [pool.role, pool.drain.function.role!, pool.autoscaler!.role!]) {
    const defaultPolicy = role.node.tryFindChild('DefaultPolicy')!.node.defaultChild!;
    expect(v2Suppressions(defaultPolicy)).not.toContain('Resource::*');
  }
});
