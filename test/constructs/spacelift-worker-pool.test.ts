import { NestedStack, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftWorkerPool, WorkerPoolCredentials } from '../../lib';
import { POOL_ID, poolStack, testApiKey } from '../support/pool-stack';
import { recommendedApp } from '../support/recommended-app';

describe('SpaceliftWorkerPool defaults', () => {
  const { stack, build } = poolStack();
  const pool = build();
  const template = Template.fromStack(stack);

  test('the launch template requires IMDSv2 with hop limit 1, exposes tags, and terminates on shutdown', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
        InstanceInitiatedShutdownBehavior: 'terminate',
        Monitoring: { Enabled: false },
        InstanceType: 't3.small',
        BlockDeviceMappings: [{
          DeviceName: '/dev/xvda',
          Ebs: { VolumeType: 'gp3', VolumeSize: 40, Encrypted: true, DeleteOnTermination: true },
        }],
      }),
    });
  });

  test('the group never sets desired capacity and protects new instances from scale-in', () => {
    const groups = template.findResources('AWS::AutoScaling::AutoScalingGroup');
    const [group] = Object.values<any>(groups);
    expect(Object.keys(groups)).toHaveLength(1);
    expect(group.Properties.DesiredCapacity).toBeUndefined();
    expect(group.Properties).toMatchObject({
      MinSize: '0',
      MaxSize: '10',
      NewInstancesProtectedFromScaleIn: true,
      HealthCheckType: 'EC2',
      HealthCheckGracePeriod: 120,
      TerminationPolicies: ['OldestLaunchTemplate', 'OldestInstance'],
    });
    expect(group.Properties.Tags).toEqual(expect.arrayContaining([
      { Key: 'WorkerPoolId', Value: '01J9ZQ4W8R6T2K3M5N7P9X1Y2Z', PropagateAtLaunch: true },
    ]));
  });

  test('AZRebalance is suspended once, by an SDK call scoped to this group', () => {
    const calls = Object.values<any>(template.findResources('Custom::AWS'));
    expect(calls).toHaveLength(1);
    const create = JSON.stringify(calls[0].Properties.Create);
    expect(create).toContain('\\"action\\":\\"suspendProcesses\\"');
    expect(create).toContain('\\"ScalingProcesses\\":[\\"AZRebalance\\"]');
    expect(calls[0].Properties.Create['Fn::Join'][1]).toContainEqual({ Ref: expect.stringMatching(/^PoolGroupASG/) });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'autoscaling:SuspendProcesses', Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }) })] },
    });
  });

  test('the instance role reads the credentials and writes its logs, and can change nothing else', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('PoolInstanceRole') }] },
    });
    const statements = Object.values<any>(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action));
    expect(actions.sort()).toEqual([
      'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents',
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
      'ssm:UpdateInstanceInformation',
      'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
    ].sort());
    // No AutoScaling access at all: the ASG name comes from instance metadata tags.
    expect(actions.some((a: string) => a.startsWith('autoscaling:'))).toBe(false);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('log groups are named by CloudFormation and kept by default', () => {
    const groups = Object.entries<any>(template.findResources('AWS::Logs::LogGroup'))
      .filter(([logicalId]) => logicalId.startsWith('PoolLogs'))
      .map(([, group]) => group);
    expect(groups).toHaveLength(2);
    for (const group of groups) {
      expect(group.Properties.LogGroupName).toBeUndefined();
      expect(group.Properties.RetentionInDays).toBe(60);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  test('IConnectable: another group can allow the workers in', () => {
    const { stack: s2, vpc, build: build2 } = poolStack();
    const p2 = build2();
    const db = new ec2.SecurityGroup(s2, 'Db', { vpc });
    db.connections.allowFrom(p2, ec2.Port.tcp(5432));
    Template.fromStack(s2).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('PoolSecurityGroup'), 'GroupId'] },
    });
    // The pool's own group has no ingress at all.
    Template.fromStack(s2).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('no ingress'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('the security group\'s description does not depend on the construct path: a change would replace the group and every worker', () => {
    const descriptions = ['Pool', 'Pöol "quoted"'].map((id) => {
      const { stack, props } = poolStack();
      new SpaceliftWorkerPool(stack, id, props);
      const groups = Object.values<any>(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup'))
        .filter((g) => /no ingress/.test(g.Properties.GroupDescription));
      return groups.map((g) => g.Properties.GroupDescription);
    });
    expect(descriptions[0]).toHaveLength(1);
    expect(descriptions[1]).toEqual(descriptions[0]);
  });

  test('escape hatches and integrations', () => {
    expect(pool.autoScalingGroup).toBeInstanceOf(autoscaling.AutoScalingGroup);
    expect(pool.launchTemplate).toBeInstanceOf(ec2.LaunchTemplate);
    expect(pool.grantPrincipal).toBe(pool.role);
  });

  test('IGrantable: a bucket grant lands on the instance role', () => {
    const { stack: s2, build: build2 } = poolStack();
    const p2 = build2();
    new s3.Bucket(s2, 'State').grantRead(p2);
    Template.fromStack(s2).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('PoolInstanceRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']) })]) },
    });
  });
});

describe('SpaceliftWorkerPool options', () => {
  test('allowContainerInstanceCredentials raises the hop limit to 2 and warns', () => {
    const { stack, build } = poolStack({ allowContainerInstanceCredentials: true });
    build();
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpPutResponseHopLimit: 2 }) }),
    });
    Annotations.fromStack(stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('every run container can act with the instance role'));
  });

  test('instanceTypes builds a mixed instances policy with price-capacity-optimized spot', () => {
    const { stack, build } = poolStack({
      instanceTypes: [new ec2.InstanceType('m6i.large'), new ec2.InstanceType('m5.large')],
      onDemandBaseCapacity: 1,
      onDemandPercentageAboveBaseCapacity: 20,
      capacityRebalance: true,
    });
    build();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      CapacityRebalance: true,
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 20, SpotAllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplate: Match.objectLike({ Overrides: [{ InstanceType: 'm6i.large' }, { InstanceType: 'm5.large' }] }),
      },
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: Match.absent() }),
    });
    Annotations.fromStack(stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('Spot workers can be interrupted'));
  });

  test('rootVolume settings, and a same-stack CMK that the ASG service-linked role may use', () => {
    const { stack, props } = poolStack();
    const key = new kms.Key(stack, 'Key');
    new SpaceliftWorkerPool(stack, 'Pool', { ...props, rootVolume: { sizeGiB: 100, throughput: 500, iops: 6000, encryptionKey: key } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: Match.objectLike({ VolumeSize: 100, Throughput: 500, Iops: 6000, Encrypted: true, KmsKeyId: Match.anyValue() }) }],
      }),
    });
    // The two statements of the AWS guide: key use, and grants only for AWS resources (the volumes).
    const slr = 'arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling';
    const statements: any[] = Object.values<any>(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement
      .filter((st: any) => st.Principal?.AWS === slr);
    expect(statements).toEqual([
      { Effect: 'Allow', Principal: { AWS: slr }, Resource: '*',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] },
      { Effect: 'Allow', Principal: { AWS: slr }, Resource: '*', Action: 'kms:CreateGrant',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } },
    ]);
  });

  test('a same-stack log key lets CloudWatch Logs use it for this stack\'s generated log group names only', () => {
    const { stack, props } = poolStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    new SpaceliftWorkerPool(stack, 'Pool', { ...props, logEncryptionKey: key });
    const template = Template.fromStack(stack);
    const logs = Object.values<any>(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement
      .filter((st: any) => st.Principal?.Service === 'logs.eu-west-1.amazonaws.com');
    expect(logs).toEqual([expect.objectContaining({
      Resource: '*',
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:eu-west-1:123456789012:log-group:Test-*' } },
    })]);
    // Every log group the pool encrypts with it has a name CloudFormation generates, so it matches the prefix.
    const groups = Object.values<any>(template.findResources('AWS::Logs::LogGroup')).filter((g) => g.Properties.KmsKeyId);
    expect(groups.length).toBeGreaterThanOrEqual(4);
    expect(groups.filter((g) => g.Properties.LogGroupName !== undefined)).toEqual([]);
  });

  test('a pool in a nested stack scopes the parent\'s log key to the top-level stack name, without a cycle', () => {
    const app = recommendedApp();
    const parent = new Stack(app, 'Parent', { env: { account: '123456789012', region: 'eu-west-1' } });
    const key = new kms.Key(parent, 'LogKey', { enableKeyRotation: true });
    const nested = new NestedStack(parent, 'Workers');
    const { props } = poolStack();
    new SpaceliftWorkerPool(nested, 'Pool', {
      ...props,
      vpc: ec2.Vpc.fromVpcAttributes(nested, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] }),
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(nested, 'Creds', 'spacelift/pool')),
      logEncryptionKey: key,
    });
    app.synth(); // a Key -> NestedStack -> Key cycle throws here
    const logs = Template.fromStack(parent).findResources('AWS::KMS::Key');
    const statement = Object.values<any>(logs)[0].Properties.KeyPolicy.Statement
      .find((st: any) => st.Principal?.Service === 'logs.eu-west-1.amazonaws.com');
    expect(statement.Condition).toEqual({ ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:eu-west-1:123456789012:log-group:Parent-*' } });
  });

  test('an unencrypted root volume is allowed but warned about', () => {
    const { stack, build } = poolStack({ rootVolume: { encrypted: false } });
    build();
    Annotations.fromStack(stack).hasWarning('/Test/Pool', Match.stringLikeRegexp('stored unencrypted'));
  });

  test.each([
    ['t3.small', 'x86_64', '643313122712', 'eu-west-1'],
    ['c7g.large', 'arm64', '643313122712', 'eu-west-1'],
    ['m6i.large', 'x86_64', '092348861888', 'us-gov-west-1'],
  ])('the default image for %s is the Spacelift %s AMI of owner %s in %s', (instanceType, arch, owner, region) => {
    const app = recommendedApp();
    const stack = new Stack(app, 'Lookup', { env: { account: '123456789012', region } });
    new SpaceliftWorkerPool(stack, 'Pool', {
      vpc: new ec2.Vpc(stack, 'Vpc'),
      workerPoolId: POOL_ID,
      credentials: WorkerPoolCredentials.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'C', 'x')),
      spaceliftApiKey: testApiKey(),
      instanceType: new ec2.InstanceType(instanceType),
    });
    const lookups = app.synth().manifest.missing!.filter((m) => m.provider === 'ami');
    expect(lookups).toHaveLength(1);
    expect(lookups[0].props).toMatchObject({ owners: [owner], filters: { 'name': [`spacelift-??????????-${arch}`], 'architecture': [arch] } });
  });

  test('extra statements, tags and a permissions boundary land where they belong', () => {
    const { stack, props } = poolStack();
    const boundary = new iam.ManagedPolicy(stack, 'Boundary', { statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })] });
    new SpaceliftWorkerPool(stack, 'Pool', {
      ...props,
      permissionsBoundary: boundary,
      tags: { Team: 'platform' },
      extraPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::state/*'] })],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] }),
      PermissionsBoundary: { Ref: Match.stringLikeRegexp('Boundary') },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::state/*' })]) },
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      Tags: Match.arrayWith([{ Key: 'Team', Value: 'platform', PropagateAtLaunch: true }]),
    });
  });
});
