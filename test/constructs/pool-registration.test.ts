import * as fs from 'fs';
import * as path from 'path';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftApiKey, SpaceliftWorkerPool, WorkerPoolCredentials, type SpaceliftWorkerPoolProps, type WorkerPoolRegistrationOptions } from '../../lib';
import { POOL_ID, poolOnlyStack } from '../support/pool-stack';

const API_KEY_SECRET_NAME = 'spacelift/api-key';
const REGISTRATION: WorkerPoolRegistrationOptions = {
  name: 'aws-ec2-workers', description: 'EC2 workers', labels: ['aws', 'ec2'], space: 'platform-01J9ZQ4W8R6T2K3M5N7P9X1Y2Z', resetGeneration: '3',
};

/** A pool that creates itself in Spacelift, with an API key in Secrets Manager so "reads the API key" has an ARN to find. */
type Overrides = (stack: Stack) => Partial<SpaceliftWorkerPoolProps>;

function synth(registration: WorkerPoolRegistrationOptions = REGISTRATION, overrides: Overrides = () => ({})) {
  const { stack, props } = poolOnlyStack((s) => ({
    workerPoolId: undefined,
    credentials: WorkerPoolCredentials.register(registration),
    spaceliftApiKey: SpaceliftApiKey.fromSecret({
      endpoint: 'https://acme.app.spacelift.io',
      apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
      secret: secretsmanager.Secret.fromSecretNameV2(s, 'ApiKey', API_KEY_SECRET_NAME),
    }),
    ...overrides(s),
  }));
  const pool = new SpaceliftWorkerPool(stack, 'Pool', props);
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const [resourceId] = Object.keys(template.findResources('Custom::SpaceliftWorkerPool'));
  const [registrationFunctionId] = Object.keys(template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('^Creates and updates the Spacelift worker pool') },
  }));
  const registrationRoleId = template.toJSON().Resources[registrationFunctionId].Properties.Role['Fn::GetAtt'][0];
  return { stack, pool, template, id, resourceId, registrationFunctionId, registrationRoleId, secretId: id(pool.credentialsSecret as never) };
}

/** Statements of every policy attached to a role, inline or as a policy resource. */
function roleStatements(template: Template, roleId: string): any[] {
  const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: unknown) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })));
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Logical ids a template value refers to, through Ref, GetAtt and Sub. */
function referencesIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => referencesIn(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string' && !value.startsWith('AWS::')) found.add(value);
      else if (key === 'Fn::GetAtt') found.add((value as string[])[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(value) ? value[0] : value;
        for (const [, name] of (text as string).matchAll(/\$\{([^}!.]+)[^}]*\}/g)) if (!name.startsWith('AWS::')) found.add(name);
        if (Array.isArray(value)) referencesIn(value[1], found);
      } else referencesIn(value, found);
    }
  }
  return found;
}

/** A dependency cycle among the template's resources (what CloudFormation refuses at deploy), or undefined. */
function dependencyCycle(template: Template): string[] | undefined {
  const resources: Record<string, any> = template.toJSON().Resources;
  const edges = new Map(Object.entries(resources).map(([id, r]) => [id,
    [...referencesIn(r.Properties), ...[r.DependsOn ?? []].flat()].filter((dep) => dep in resources)]));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, trail: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, 'open');
    for (const dep of edges.get(id) ?? []) {
      const cycle = visit(dep, [...trail, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('a pool registered by the stack', () => {
  const { pool, stack, template, id, resourceId, registrationFunctionId, registrationRoleId, secretId } = synth();

  test('a Custom::SpaceliftWorkerPool resource with the pool settings, the secret and its keys, and a retaining deletion policy', () => {
    template.resourceCountIs('Custom::SpaceliftWorkerPool', 1);
    expect(template.toJSON().Resources[resourceId]).toEqual(expect.objectContaining({
      Type: 'Custom::SpaceliftWorkerPool',
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^PoolRegistrationProviderframeworkonEvent/), 'Arn'] },
        Name: 'aws-ec2-workers',
        Description: 'EC2 workers',
        Labels: ['aws', 'ec2'],
        Space: 'platform-01J9ZQ4W8R6T2K3M5N7P9X1Y2Z',
        SecretArn: { Ref: secretId },
        TokenKey: 'SPACELIFT_TOKEN',
        PrivateKeyKey: 'SPACELIFT_POOL_PRIVATE_KEY',
        ResetGeneration: '3',
        DeletionPolicy: 'retain',
        // Bounded: a response that never arrives fails the resource after 20 minutes, not CloudFormation's hour.
        ServiceTimeout: '1200',
      },
    }));
    // The provider framework relays to the registration function.
    const framework = template.toJSON().Resources[template.toJSON().Resources[resourceId].Properties.ServiceToken['Fn::GetAtt'][0]];
    expect(framework.Properties.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN).toEqual({ 'Fn::GetAtt': [registrationFunctionId, 'Arn'] });
  });

  test('the workers\' launch template carries the key fingerprint the registration answers, so every reset replaces them', () => {
    const templateData = () => Object.values<any>(template.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData;
    const instanceTags = (data: any) => data.TagSpecifications.find((t: any) => t.ResourceType === 'instance').Tags;
    expect(instanceTags(templateData())).toContainEqual({
      Key: 'cdk-ec2-workerpool:credentials-fingerprint',
      Value: { 'Fn::GetAtt': [resourceId, 'CredentialsFingerprint'] },
    });
    expect(template.toJSON().Resources[id(pool.autoScalingGroup)].UpdatePolicy.AutoScalingInstanceRefresh).toBeDefined();
  });

  test('a pool with credentials of its own has no fingerprint tag', () => {
    const { stack, props } = poolOnlyStack();
    new SpaceliftWorkerPool(stack, 'Pool', props);
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::EC2::LaunchTemplate'))).not.toContain('credentials-fingerprint');
  });

  test('pool.workerPoolId is the custom resource\'s WorkerPoolId attribute', () => {
    expect(stack.resolve(pool.workerPoolId)).toEqual({ 'Fn::GetAtt': [resourceId, 'WorkerPoolId'] });
  });

  test('the secret has no value in the template: a generated placeholder the registration overwrites', () => {
    const secret = template.toJSON().Resources[secretId].Properties;
    expect(secret.GenerateSecretString).toEqual({ SecretStringTemplate: '{}', GenerateStringKey: 'placeholder', ExcludePunctuation: true });
    expect(secret.SecretString).toBeUndefined();
  });

  test('the registration role reads and writes only this secret, reads only the API key, and writes only its logs', () => {
    const statements = roleStatements(template, registrationRoleId);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PoolRegistrationHandlerLogs/), 'Arn'] } },
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${API_KEY_SECRET_NAME}-??????` },
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], Resource: { Ref: secretId } },
    ]);
    // No other role of the stack may write the pool credentials.
    const writers = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('PutSecretValue'));
    expect(writers.map((p) => p.Properties.Roles)).toEqual([[{ Ref: registrationRoleId }]]);
  });

  test('the registration function gets the API key variables, no pool id, and a log group of its own', () => {
    const fn = template.toJSON().Resources[registrationFunctionId].Properties;
    expect(fn.Environment.Variables).toEqual({
      SPACELIFT_API_ENDPOINT: 'https://acme.app.spacelift.io',
      SPACELIFT_API_KEY_ID: '01J9ZQ4W8R6T2K3M5N7P9APIKY',
      SPACELIFT_API_KEY_SECRET_ARN: expect.anything(),
      POWERTOOLS_SERVICE_NAME: 'spacelift-worker-pool-registration',
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    });
    expect(fn.LoggingConfig).toEqual({ LogFormat: 'JSON', LogGroup: { Ref: expect.stringMatching(/^PoolRegistrationHandlerLogs/) } });
  });

  test('the group and both functions that call Spacelift wait for the registration and take its pool id', () => {
    const resources = template.toJSON().Resources;
    const groupId = id(pool.autoScalingGroup);
    for (const dependent of [groupId, id(pool.drain.function), id(pool.autoscaler!)]) {
      expect(resources[dependent].DependsOn).toEqual(expect.arrayContaining([resourceId]));
    }
    for (const fn of [pool.drain.function, pool.autoscaler!]) {
      expect(resources[id(fn)].Properties.Environment.Variables.SPACELIFT_WORKER_POOL_ID).toEqual({ 'Fn::GetAtt': [resourceId, 'WorkerPoolId'] });
    }
  });

  // CloudFormation resolves intrinsic functions in any string property, AutoScalingGroup tag values included.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-autoscaling-autoscalinggroup-tagproperty.html
  test('the WorkerPoolId tag is the deploy-time id, propagated to the instances', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      Tags: Match.arrayWith([{ Key: 'WorkerPoolId', PropagateAtLaunch: true, Value: { 'Fn::GetAtt': [resourceId, 'WorkerPoolId'] } }]),
    });
  });

  test('the pool id comes from resources that do not carry it: no dependency cycle', () => {
    expect(dependencyCycle(template)).toBeUndefined();
    // Nor do the pool's roles: a key policy names them (test 'with a key' below).
    const poolRoles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([roleId]) => roleId.startsWith('Pool'));
    expect(poolRoles.length).toBeGreaterThan(3);
    expect(JSON.stringify(poolRoles)).not.toContain('WorkerPoolId');
    const tagged = Object.entries<any>(template.toJSON().Resources)
      .filter(([, r]) => JSON.stringify(r.Properties?.Tags ?? []).includes('WorkerPoolId'))
      .map(([logicalId]) => logicalId);
    expect(tagged).not.toContain(secretId);
    expect(tagged).not.toContain(registrationFunctionId);
    expect(tagged).not.toContain(registrationRoleId);
  });

  test('no key, CSR or token material anywhere in the template', () => {
    const text = JSON.stringify(template.toJSON());
    // PEM armour, its base64, and the DER prefix of an RSA key or CSR in base64.
    for (const material of ['-----BEGIN', 'PRIVATE KEY', 'CERTIFICATE REQUEST', 'LS0tLS1CRUdJTi', 'MIIJ', 'MIIE']) {
      expect(text).not.toContain(material);
    }
    expect(text).not.toMatch(/resolve:secretsmanager/);
  });
});

test('a registration key of its own: only the registration function reads it; the runtime functions keep the pool\'s key', () => {
  const { stack, pool, template, id, registrationFunctionId, registrationRoleId } = synth({
    ...REGISTRATION,
    spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://acme.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9CONTR', parameterName: '/spacelift/pool-controller',
    }),
  });
  const controllerArn = 'arn:aws:ssm:eu-west-1:123456789012:parameter/spacelift/pool-controller';
  const resources = template.toJSON().Resources;
  expect(resources[registrationFunctionId].Properties.Environment.Variables).toMatchObject({
    SPACELIFT_API_KEY_ID: '01J9ZQ4W8R6T2K3M5N7P9CONTR', SPACELIFT_API_KEY_SECRET_ARN: controllerArn,
  });
  expect(JSON.stringify(roleStatements(template, registrationRoleId))).toContain(controllerArn);
  expect(JSON.stringify(roleStatements(template, registrationRoleId))).not.toContain(API_KEY_SECRET_NAME);
  for (const fn of [pool.drain.function, pool.autoscaler!]) {
    expect(resources[id(fn)].Properties.Environment.Variables.SPACELIFT_API_KEY_ID).toBe('01J9ZQ4W8R6T2K3M5N7P9APIKY');
    const roleId = stack.getLogicalId(fn.role!.node.defaultChild as never);
    expect(JSON.stringify(roleStatements(template, roleId))).not.toContain('pool-controller');
  }
});

test('a registration key for another Spacelift endpoint than the pool\'s is refused at synth', () => {
  expect(() => synth({
    ...REGISTRATION,
    spaceliftApiKey: SpaceliftApiKey.fromSecureStringParameter({
      endpoint: 'https://other.app.spacelift.io', apiKeyId: '01J9ZQ4W8R6T2K3M5N7P9CONTR', parameterName: '/spacelift/pool-controller',
    }),
  })).toThrow(/invalid "credentials \(spaceliftApiKey.endpoint\)": must be the pool's Spacelift endpoint \(https:\/\/acme.app.spacelift.io\)/);
});

test('RemovalPolicy.DESTROY tells the handler to delete the Spacelift pool; optional settings are left out', () => {
  const { template, resourceId } = synth({ name: 'minimal', removalPolicy: RemovalPolicy.DESTROY });
  expect(template.toJSON().Resources[resourceId].Properties).toEqual({
    ServiceToken: expect.anything(),
    Name: 'minimal',
    SecretArn: expect.anything(),
    TokenKey: 'SPACELIFT_TOKEN',
    PrivateKeyKey: 'SPACELIFT_POOL_PRIVATE_KEY',
    DeletionPolicy: 'delete',
    ServiceTimeout: '1200',
  });
  // Only the handler decides: CloudFormation always sends it the Delete event.
  expect(template.toJSON().Resources[resourceId].DeletionPolicy).toEqual('Delete');
});

test('with a key, the secret is encrypted with it and the registration may use it through Secrets Manager for this secret only', () => {
  const { template, registrationRoleId, secretId } = synth({ name: 'encrypted', encryptionKey: undefined }, (s) => ({
    credentials: WorkerPoolCredentials.register({ name: 'encrypted', encryptionKey: new kms.Key(s, 'CredentialsKey') }),
  }));
  // The key's policy names the roles that read the secret, so a role tagged with the pool id would close a cycle.
  expect(dependencyCycle(template)).toBeUndefined();
  const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^CredentialsKey/), 'Arn'] };
  expect(template.toJSON().Resources[secretId].Properties.KmsKeyId).toEqual(keyArn);
  expect(roleStatements(template, registrationRoleId)).toContainEqual({
    Effect: 'Allow',
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: keyArn,
    Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': { Ref: secretId } } },
  });
});

test('the permissions boundary, log retention and log key reach every new role and log group, the provider framework\'s included', () => {
  const { template } = synth(REGISTRATION, (s) => ({
    permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(s, 'Boundary', 'org-boundary'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    logEncryptionKey: new kms.Key(s, 'LogKey'),
  }));
  const roles = Object.entries<any>(template.findResources('AWS::IAM::Role'));
  expect(roles.map(([roleId]) => roleId)).toEqual(expect.arrayContaining([expect.stringMatching(/^PoolRegistrationProviderRole/)]));
  for (const [, role] of roles) {
    expect(role.Properties.PermissionsBoundary).toEqual('arn:aws:iam::123456789012:policy/org-boundary');
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  }
  const registrationGroups = Object.entries<any>(template.findResources('AWS::Logs::LogGroup')).filter(([groupId]) => groupId.startsWith('PoolRegistration'));
  expect(registrationGroups).toHaveLength(2);
  for (const [, group] of registrationGroups) {
    expect(group.Properties).toEqual(expect.objectContaining({ RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogKey/), 'Arn'] } }));
  }
  // The framework function logs to its group, with the role made for it.
  template.hasResourceProperties('AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('^AWS CDK resource provider framework'),
    Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PoolRegistrationProviderRole'), 'Arn'] },
    LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.stringLikeRegexp('^PoolRegistrationProviderLogs') } }),
  });
});

describe('synth errors name the prop', () => {
  test('workerPoolId is required when the credentials do not register the pool', () => {
    const { stack, props } = poolOnlyStack(() => ({ workerPoolId: undefined }));
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', props)).toThrow(/invalid "workerPoolId": is required, unless credentials is WorkerPoolCredentials.register\(\)/);
  });

  test('workerPoolId cannot be given with register()', () => {
    expect(() => synth(REGISTRATION, () => ({ workerPoolId: POOL_ID }))).toThrow(/invalid "workerPoolId": must not be set with WorkerPoolCredentials.register\(\)/);
  });

  test('a literal pool id is still checked on the manual path', () => {
    const { stack, props } = poolOnlyStack(() => ({ workerPoolId: 'my-pool' }));
    expect(() => new SpaceliftWorkerPool(stack, 'Pool', props)).toThrow(/invalid "workerPoolId": "my-pool" is not a Spacelift worker pool id/);
  });

  test.each<[string, WorkerPoolRegistrationOptions, string]>([
    ['an empty name', { name: ' ' }, 'credentials (name)'],
    ['an empty space', { name: 'pool', space: '' }, 'credentials (space)'],
    ['a blank label', { name: 'pool', labels: ['team:a', ' '] }, 'credentials (labels[1])'],
    ['a label the registration reserves', { name: 'pool', labels: ['cdk-ec2-workerpool:resource=x'] }, 'credentials (labels[0])'],
    ['a removal policy that cannot apply to a Spacelift pool', { name: 'pool', removalPolicy: RemovalPolicy.SNAPSHOT }, 'credentials (removalPolicy)'],
  ])('%s', (_case, registration, prop) => {
    expect(() => synth(registration)).toThrow(new RegExp(`invalid "${prop.replace(/[()[\]]/g, '\\$&')}"`));
  });
});

test('the synthesized assembly of a registered pool holds no credential material outside the bundled handler code', () => {
  const { stack } = synth();
  const assembly = (stack.node.root as any).synth();
  const templates = fs.readdirSync(assembly.directory).filter((file) => file.endsWith('.template.json'));
  expect(templates.length).toBeGreaterThan(0);
  for (const file of templates) {
    const text = fs.readFileSync(path.join(assembly.directory, file), 'utf8');
    expect(text).not.toMatch(/-----BEGIN|PRIVATE KEY-----|LS0tLS1CRUdJTi/);
  }
});
