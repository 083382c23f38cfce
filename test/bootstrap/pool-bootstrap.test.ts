import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { CfnParameter, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RunAccess, SpaceliftRegion, SpaceliftWorkerPool, type SpaceliftWorkerPoolProps, WorkerComms } from '../../lib';
import { poolStack } from '../support/pool-stack';

// The bootstrap props of SpaceliftWorkerPool, as they reach the user data and the instance role.

const CANARY = 'CANARY-77c1e2b5-secret-must-not-leak';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG11kO9pMA0GCSqGSIb3DQEBCwUAMA0xCzAJBgNVBAYTAlVT\n-----END CERTIFICATE-----';

interface Synth {
  readonly stack: Stack;
  readonly template: Template;
  /** The user data with each CloudFormation token shown as <TOKEN>. */
  readonly plain: string;
  /** The unpacked program: the literal parameters and the script body. */
  readonly program: string;
  /** A parameter's literal value, from its single-quoted word. */
  literal(name: string): string;
  /** A parameter that is a CloudFormation token: the Fn::Base64 argument, resolved. */
  token(name: string): unknown;
  /** Actions granted to the instance role. */
  roleStatements(): any[];
}

function synth(overrides: Partial<SpaceliftWorkerPoolProps> | ((stack: Stack) => Partial<SpaceliftWorkerPoolProps>) = {}): Synth {
  const { stack, props } = poolStack();
  const extra = typeof overrides === 'function' ? overrides(stack) : overrides;
  new SpaceliftWorkerPool(stack, 'Pool', { ...props, ...extra });
  const template = Template.fromStack(stack);
  const lt = Object.values<any>(template.findResources('AWS::EC2::LaunchTemplate'))[0];
  const userData = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  const parts: unknown[] = typeof userData === 'string' ? [userData] : userData['Fn::Join'][1];
  const plain = parts.map((p) => (typeof p === 'string' ? p : '<TOKEN>')).join('');
  const packed = /^packed='([A-Za-z0-9+/=]+)'$/m.exec(plain)![1];
  const program = zlib.gunzipSync(Buffer.from(packed, 'base64')).toString('utf8');
  return {
    stack,
    template,
    plain,
    program,
    literal: (name) => {
      const match = new RegExp(`^${name}='((?:[^']|'\\\\'')*)'$`, 'm').exec(program);
      if (!match) throw new Error(`${name} is not a literal parameter of the program`);
      return match[1].replace(/'\\''/g, '\'');
    },
    token: (name) => {
      const index = parts.findIndex((p) => typeof p === 'string' && p.endsWith(`\n${name}="$(printf %s '`));
      if (index < 0) throw new Error(`${name} is not a token parameter`);
      return (parts[index + 1] as any)['Fn::Base64'];
    },
    roleStatements: () => Object.values<any>(template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('PoolInstanceRole') }] },
    })).flatMap((p) => p.Properties.PolicyDocument.Statement),
  };
}

describe('defaults', () => {
  const s = synth();

  test('the launcher is downloaded from Spacelift and verified with the embedded key and pinned fingerprint', () => {
    expect(s.literal('DOWNLOAD_BASE_URL')).toBe('https://downloads.spacelift.io');
    expect(s.literal('SIGNING_KEY_FINGERPRINT')).toBe('175FD97AD2358EFE02832978E302FB5AA29D88F7');
    expect(s.literal('SIGNING_KEY')).toBe(fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'bootstrap', 'spacelift-signing-key.asc'), 'utf8'));
    expect(s.literal('LAUNCHER_S3_URI')).toBe('');
    expect(s.program).not.toContain('keys.openpgp.org');
  });

  test('poll comms to the EU SaaS, poweroff on error after 15 s, production paths and IMDS', () => {
    expect(JSON.parse(s.literal('LAUNCHER_ENV'))).toEqual({ SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://app.spacelift.io' });
    expect(JSON.parse(s.literal('SECRET_ENV'))).toEqual([]);
    expect(s.literal('POWER_OFF_ON_ERROR')).toBe('true');
    expect(s.literal('POWEROFF_DELAY_SECONDS')).toBe('15');
    expect(s.literal('LAUNCHER_USER')).toBe('');
    expect(s.literal('IMDS_URL')).toBe('http://169.254.169.254');
    expect(s.literal('RUN_DIR')).toBe('/run/spacelift');
    expect(s.literal('SYSTEMD_DIR')).toBe('/etc/systemd/system');
    expect(s.literal('LAUNCHER_PATH')).toBe('/usr/bin/spacelift-launcher');
  });

  test('the credentials secret is referenced by its ARN, never by its value', () => {
    expect(s.literal('CREDENTIALS_SECRET_ARN')).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:spacelift/pool');
    expect(s.literal('TOKEN_KEY')).toBe('SPACELIFT_TOKEN');
  });

  test('the user data fits EC2\'s 16 KB limit with room to spare, and keeps the unit readable', () => {
    expect(Buffer.byteLength(s.plain)).toBeLessThan(15_000);
    expect(s.plain).toContain('ExecStopPost=/bin/sh -c \'${LIBEXEC_DIR}/worker-bootstrap stop-post || ${fallback}\'');
    expect(s.program).toContain('check_signature "${1}/${2}"');
  });

  test('the instance role gets nothing for the bootstrap beyond the credentials and logs', () => {
    const actions = s.roleStatements().flatMap((st) => [].concat(st.Action));
    expect(actions.filter((a: string) => /^(s3|ecr|kms|autoscaling):/.test(a))).toEqual([]);
  });
});

test('typed launcher options become the documented launcher variables', () => {
  const s = synth({
    launcher: {
      comms: WorkerComms.poll({ region: SpaceliftRegion.US }),
      runTimeout: Duration.minutes(120),
      logsTimeout: Duration.minutes(15),
      sensitiveOutputUpload: true,
      runLogsOnStandardOutput: false,
      extraMounts: [
        { hostPath: '/mnt/cache', containerPath: '/cache' },
        { hostPath: '/mnt/plan', containerPath: '/plan', runs: RunAccess.READ_ONLY },
        { hostPath: '/mnt/apply', containerPath: '/apply', runs: RunAccess.WRITE_ONLY },
        { hostPath: '/mnt/more', containerPath: '/more' },
      ],
      runtime: 'runsc',
      network: 'spacelift',
      defaultRunnerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/runner:1.2',
      defaultAnsibleRunnerImage: 'public.ecr.aws/spacelift/runner-ansible:latest',
      maskEnvs: ['TF_VAR_db_password'],
      whitelistEnvs: ['TF_VAR_db_password', 'ro_TF_VAR_plan_only'],
      debug: true,
      metadata: { team: 'platform', cost_center: '42' },
      environment: { TF_PLUGIN_CACHE_DIR: '/cache', NOTE: 'it\'s "fine" $HOME' },
    },
  });
  expect(JSON.parse(s.literal('LAUNCHER_ENV'))).toEqual({
    SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll',
    SPACELIFT_WORKER_COMMS_URL: 'https://app.us.spacelift.io',
    SPACELIFT_LAUNCHER_RUN_TIMEOUT: '7200s',
    SPACELIFT_LAUNCHER_LOGS_TIMEOUT: '900s',
    SPACELIFT_SENSITIVE_OUTPUT_UPLOAD_ENABLED: 'true',
    SPACELIFT_RUN_LOGS_ON_STANDARD_OUTPUT_ENABLED: 'false',
    SPACELIFT_DEBUG: 'true',
    SPACELIFT_WORKER_RUNTIME: 'runsc',
    SPACELIFT_WORKER_NETWORK: 'spacelift',
    SPACELIFT_DEFAULT_RUNNER_IMAGE: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/runner:1.2',
    SPACELIFT_DEFAULT_ANSIBLE_RUNNER_IMAGE: 'public.ecr.aws/spacelift/runner-ansible:latest',
    SPACELIFT_MASK_ENVS: 'TF_VAR_db_password',
    SPACELIFT_WORKER_EXTRA_MOUNTS: '/mnt/cache:/cache,/mnt/more:/more',
    SPACELIFT_WORKER_RO_EXTRA_MOUNTS: '/mnt/plan:/plan',
    SPACELIFT_WORKER_WO_EXTRA_MOUNTS: '/mnt/apply:/apply',
    SPACELIFT_METADATA_team: 'platform',
    SPACELIFT_METADATA_cost_center: '42',
    TF_PLUGIN_CACHE_DIR: '/cache',
    NOTE: 'it\'s "fine" $HOME',
  });
  expect(s.literal('WHITELIST_ENVS')).toBe('TF_VAR_db_password,ro_TF_VAR_plan_only');
});

test('comms: an explicit URL (self-hosted, FedRAMP), or the deprecated MQTT transport', () => {
  expect(JSON.parse(synth({ launcher: { comms: WorkerComms.poll({ url: 'https://acme.app.fedramp.spacelift.io/' }) } }).literal('LAUNCHER_ENV')))
    .toEqual({ SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://acme.app.fedramp.spacelift.io' });
  expect(JSON.parse(synth({ launcher: { comms: WorkerComms.mqtt() } }).literal('LAUNCHER_ENV'))).toEqual({ SPACELIFT_WORKER_COMMS_PROTOCOL: 'mqtt' });
});

test('secretEnvironment: read by ARN at service start, and the instance role may read exactly those secrets', () => {
  const s = synth((stack) => {
    const db = new secretsmanager.Secret(stack, 'Db');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const api = new secretsmanager.Secret(stack, 'Api', { encryptionKey: key });
    return { launcher: { secretEnvironment: { DB_PASSWORD: { secret: db, jsonKey: 'password' }, DB_USER: { secret: db, jsonKey: 'username' }, API_TOKEN: { secret: api } } } };
  });
  const secretEnv = JSON.stringify(s.token('SECRET_ENV'));
  expect(secretEnv).toContain('{"Ref":"Db');
  expect(secretEnv).toContain('\\"name\\":\\"DB_PASSWORD\\"');
  expect(secretEnv).toContain('\\"jsonKey\\":\\"password\\"');
  expect(secretEnv).toContain('\\"name\\":\\"API_TOKEN\\"');
  const reads = s.roleStatements().filter((st) => [].concat(st.Action).includes('secretsmanager:GetSecretValue' as never));
  expect(reads.flatMap((st) => [].concat(st.Resource))).toEqual(expect.arrayContaining([
    { Ref: expect.stringMatching(/^Db/) }, { Ref: expect.stringMatching(/^Api/) },
  ]));
  // The secret's key lets the role decrypt through Secrets Manager only.
  const keyPolicy = JSON.stringify(Object.values<any>(s.template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy);
  expect(keyPolicy).toMatch(/"kms:Decrypt".*"kms:ViaService":"secretsmanager\.eu-west-1\.amazonaws\.com".*"PoolInstanceRole/);
});

test('selfHosted: the launcher object only, from the bucket\'s own account, the key to decrypt it, a dedicated user', () => {
  const s = synth((stack) => {
    const key = new kms.Key(stack, 'BucketKey', { enableKeyRotation: true });
    const bucket = new s3.Bucket(stack, 'Launchers', { encryptionKey: key, enforceSSL: true });
    return {
      selfHosted: { launcherBucket: bucket, launcherObjectKey: 'v3/spacelift-launcher-x86_64', launcherSha256: 'AB'.repeat(32) },
      launcher: { comms: WorkerComms.poll({ url: 'https://spacelift.corp.example' }) },
    };
  });
  const gets = s.roleStatements().filter((st) => [].concat(st.Action).some((a: string) => a.startsWith('s3:')));
  expect(gets).toEqual([expect.objectContaining({ Action: 's3:GetObject', Resource: expect.anything() })]);
  expect(JSON.stringify(gets[0].Resource)).toMatch(/^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["Launchers[0-9A-F]+","Arn"\]\},"\/v3\/spacelift-launcher-x86_64"\]\]\}$/);
  expect(s.roleStatements()).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt' }));
  expect(JSON.stringify(s.token('LAUNCHER_S3_URI'))).toContain('/v3/spacelift-launcher-x86_64');
  expect(s.literal('LAUNCHER_SHA256')).toBe('ab'.repeat(32));
  // A bucket of this stack belongs to the stack's account.
  expect(s.literal('LAUNCHER_BUCKET_OWNER')).toBe('123456789012');
  expect(s.program).not.toContain('SHA256SUMS_S3');
  expect(s.literal('SIGNING_KEY')).toBe('');
  expect(s.literal('LAUNCHER_USER')).toBe('spacelift');
});

test('selfHosted: an imported bucket of another account is read with that account as the expected owner', () => {
  const s = synth((stack) => ({
    selfHosted: {
      launcherBucket: s3.Bucket.fromBucketAttributes(stack, 'Launchers', { bucketName: 'acme-launchers', account: '111122223333' }),
      launcherObjectKey: 'spacelift-launcher', launcherSha256: 'ab'.repeat(32),
    },
    launcher: { comms: WorkerComms.poll({ url: 'https://spacelift.corp.example' }) },
  }));
  expect(s.literal('LAUNCHER_BUCKET_OWNER')).toBe('111122223333');
});

test('selfHosted with a bucket imported by name; proxies and CAs reach the bootstrap', () => {
  const s = synth((stack) => ({
    selfHosted: { launcherBucket: s3.Bucket.fromBucketName(stack, 'Launchers', 'acme-launchers'), launcherObjectKey: 'spacelift-launcher', launcherSha256: 'AB'.repeat(32) },
    launcher: {
      comms: WorkerComms.poll({ url: 'https://spacelift.corp.example' }),
      proxy: { httpProxy: 'http://proxy.corp:3128', httpsProxy: 'http://proxy.corp:3128', noProxy: ['.corp.example', '10.0.0.0/8'] },
      caCertificates: [PEM],
      runAsUser: 'root',
    },
  }));
  expect(s.literal('LAUNCHER_S3_URI')).toBe('s3://acme-launchers/spacelift-launcher');
  expect(s.literal('LAUNCHER_SHA256')).toBe('ab'.repeat(32));
  expect(s.roleStatements()).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-launchers/spacelift-launcher' }));
  expect(s.literal('HTTPS_PROXY_URL')).toBe('http://proxy.corp:3128');
  expect(s.literal('NO_PROXY_LIST')).toBe('.corp.example,10.0.0.0/8,169.254.169.254');
  expect(s.literal('CA_CERTIFICATES')).toBe(PEM);
  expect(s.literal('LAUNCHER_USER')).toBe('');
});

test('pre-start hooks: ECR login with pull on the given repositories only, and the token action acknowledged', () => {
  const s = synth((stack) => ({
    preStartHooks: {
      ecrRepositories: [new ecr.Repository(stack, 'Runner'), ecr.Repository.fromRepositoryName(stack, 'Tools', 'tools')],
      commands: ['mkdir -p /mnt/cache', 'echo "ready $(date)"'],
    },
  }));
  const statements = s.roleStatements();
  expect(statements).toContainEqual(expect.objectContaining({ Action: 'ecr:GetAuthorizationToken', Resource: '*' }));
  const pulls = statements.filter((st) => [].concat(st.Action).includes('ecr:BatchGetImage' as never));
  const pulled = pulls.flatMap((st) => [].concat(st.Resource));
  expect(pulled).toEqual(['arn:aws:ecr:eu-west-1:123456789012:repository/tools', { 'Fn::GetAtt': [expect.stringMatching(/^Runner/), 'Arn'] }]);
  expect(JSON.stringify(s.token('ECR_REGISTRIES'))).toContain('.dkr.ecr.');
  expect(s.literal('PRE_START_COMMANDS')).toBe('mkdir -p /mnt/cache\necho "ready $(date)"');
  // Acknowledged on the token's own policy (lib/unscoped-policy.ts), not on the role.
  const policy = s.stack.node.findChild('Pool').node.findChild('EcrLoginPolicy');
  const acknowledged = JSON.stringify([policy.node.metadata, policy.node.defaultChild?.node.metadata]);
  expect(acknowledged).toContain('AwsSolutions-IAM5[Resource::*]');
  expect(acknowledged).toContain('ecr:GetAuthorizationToken (the pre-start docker login to ECR) has no resource-level permissions');
});

test('powerOffOnError, poweroffDelay, a mirror and its own signing key', () => {
  const s = synth({
    powerOffOnError: false,
    poweroffDelay: Duration.minutes(2),
    downloadBaseUrl: 'https://mirror.corp.example/spacelift/',
    signingKey: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n',
    signingKeyFingerprint: '0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567',
  });
  expect(s.literal('POWER_OFF_ON_ERROR')).toBe('false');
  expect(s.literal('POWEROFF_DELAY_SECONDS')).toBe('120');
  expect(s.literal('DOWNLOAD_BASE_URL')).toBe('https://mirror.corp.example/spacelift');
  expect(s.literal('SIGNING_KEY')).toContain('mDMEZ');
  expect(s.literal('SIGNING_KEY_FINGERPRINT')).toBe('0123456789ABCDEF0123456789ABCDEF01234567');
});

describe('a canary secret', () => {
  test('in a secret used by secretEnvironment never reaches the user data (only the ARN does)', () => {
    const s = synth((stack) => ({
      launcher: { secretEnvironment: { DB_PASSWORD: { secret: new secretsmanager.Secret(stack, 'Db', { secretStringValue: SecretValue.unsafePlainText(CANARY) }) } } },
    }));
    const lt = Object.values<any>(s.template.findResources('AWS::EC2::LaunchTemplate'))[0];
    expect(JSON.stringify(lt)).not.toContain(CANARY);
    expect(s.program).not.toContain(CANARY);
  });

  test('as a NoEcho parameter never appears in the template', () => {
    const s = synth((stack) => {
      const parameter = new CfnParameter(stack, 'DbPassword', { noEcho: true, default: CANARY.replace('CANARY', 'x') });
      return { launcher: { secretEnvironment: { DB_PASSWORD: { secret: new secretsmanager.Secret(stack, 'Db', { secretStringValue: SecretValue.cfnParameter(parameter) }) } } } };
    });
    expect(JSON.stringify(s.template.toJSON())).not.toContain(CANARY);
  });

  test('as a plain environment credential is refused, and the error does not echo it', () => {
    let message = '';
    try {
      synth({ launcher: { environment: { SPACELIFT_TOKEN: CANARY } } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('invalid "launcher.environment": SPACELIFT_TOKEN comes from the pool credentials secret');
    expect(message).toContain('plain text in user data');
    expect(message).not.toContain(CANARY);
  });
});

describe('run isolation', () => {
  test.each([
    '/', '/var/run/docker.sock', '/run/docker.sock', '/run/spacelift', '/run/spacelift/env', '/run', '/var/run', '/var',
    '/proc', '/proc/1/environ', '/sys', '/sys/fs/cgroup', '/etc', '/root', '/root/.aws', '/dev', '/var/lib/docker', '/var/lib',
    '/run/containerd/containerd.sock', '/boot', '//run/spacelift/', '/var/../run/./spacelift', '/usr/local/libexec/spacelift', '/usr',
    '/opt/aws/amazon-cloudwatch-agent/bin', '/opt', '/etc/systemd/system', '/etc/cron.d', '/etc/sudoers.d', '/usr/local/bin',
    '/lib/systemd', '/var/spool/cron', '/var/lib/cloud/scripts', '/etc/ssl/../cron.d',
  ])('a mount of the host path %s is refused, for every kind of run', (hostPath) => {
    for (const runs of [RunAccess.ALL, RunAccess.READ_ONLY, RunAccess.WRITE_ONLY]) {
      expect(() => synth({ launcher: { extraMounts: [{ hostPath, containerPath: '/mnt/host', runs }] } }))
        .toThrow(/invalid "launcher.extraMounts": .* exposes the host/);
    }
  });

  test('mounts of ordinary host directories, and of CA bundles under /etc, are accepted', () => {
    const s = synth({ launcher: { extraMounts: [
      { hostPath: '/mnt/cache', containerPath: '/cache' }, { hostPath: '/etc/ssl/certs', containerPath: '/etc/ssl/certs', runs: RunAccess.READ_ONLY },
      { hostPath: '/opt/tools', containerPath: '/opt/tools' }, { hostPath: '/var/cache/terraform', containerPath: '/tf' },
    ] } });
    expect(JSON.parse(s.literal('LAUNCHER_ENV'))).toMatchObject({
      SPACELIFT_WORKER_EXTRA_MOUNTS: '/mnt/cache:/cache,/opt/tools:/opt/tools,/var/cache/terraform:/tf',
      SPACELIFT_WORKER_RO_EXTRA_MOUNTS: '/etc/ssl/certs:/etc/ssl/certs',
    });
    Annotations.fromStack(s.stack).hasNoWarning('/Test/Pool', Match.anyValue());
  });

  test('the host network is allowed, with a warning that runs then act with the instance role', () => {
    const s = synth({ launcher: { network: 'host' } });
    expect(JSON.parse(s.literal('LAUNCHER_ENV')).SPACELIFT_WORKER_NETWORK).toBe('host');
    Annotations.fromStack(s.stack).hasWarning('/Test/Pool', Match.stringLikeRegexp(
      'launcher.network is "host": .*instance metadata.*instance role.*pool credentials.*\\[ack: cdk-ec2-workerpool:hostNetwork\\]'));
    Annotations.fromStack(synth({ launcher: { network: 'spacelift' } }).stack).hasNoWarning('/Test/Pool', Match.anyValue());
  });

  test.each([
    'SPACELIFT_TOKEN', 'spacelift_token', 'ro_SPACELIFT_TOKEN', 'wo_SPACELIFT_POOL_PRIVATE_KEY', 'SPACELIFT_POOL_PRIVATE_KEY',
    'Spacelift_Pool_Private_Key', 'SPACELIFT_TOKEN_V2', 'SPACELIFT_POOL_ANYTHING', 'RO_spacelift_token',
  ])('whitelistEnvs never passes the pool credentials (%s) into runs', (name) => {
    let message = '';
    try {
      synth({ launcher: { whitelistEnvs: ['TF_VAR_region', name] } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/invalid "launcher.whitelistEnvs": .* the pool credentials/);
    expect(message).toContain(name);
  });
});

describe('synth errors name the prop', () => {
  const cases: Array<[string, Partial<SpaceliftWorkerPoolProps> | ((stack: Stack) => Partial<SpaceliftWorkerPoolProps>), RegExp]> = [
    ['a credential in plain environment', { launcher: { environment: { SPACELIFT_POOL_PRIVATE_KEY: 'x' } } },
      /invalid "launcher.environment": SPACELIFT_POOL_PRIVATE_KEY comes from the pool credentials secret.*plain text in user data/],
    ['a variable name with a dash', { launcher: { environment: { 'TF-VAR': 'x' } } }, /invalid "launcher.environment": "TF-VAR" is not a valid variable name/],
    ['a variable name starting with a digit', (stack) => ({ launcher: { secretEnvironment: { '1PASSWORD': { secret: new secretsmanager.Secret(stack, 'S') } } } }),
      /invalid "launcher.secretEnvironment": "1PASSWORD" is not a valid variable name/],
    ['a variable a typed option sets', { launcher: { runtime: 'runsc', environment: { SPACELIFT_WORKER_RUNTIME: 'runc' } } },
      /invalid "launcher.environment": SPACELIFT_WORKER_RUNTIME is already set by launcher.runtime/],
    ['the whitelist as a raw variable', { launcher: { environment: { SPACELIFT_WHITELIST_ENVS: 'A' } } },
      /invalid "launcher.environment": SPACELIFT_WHITELIST_ENVS is set by the bootstrap; use launcher.whitelistEnvs/],
    ['a proxy as a raw variable', { launcher: { environment: { HTTPS_PROXY: 'http://p:1' } } }, /invalid "launcher.environment": HTTPS_PROXY is set by the bootstrap; use launcher.proxy/],
    ['a secret variable also set in plain', (stack) => ({ launcher: { environment: { DB: 'x' }, secretEnvironment: { DB: { secret: new secretsmanager.Secret(stack, 'S') } } } }),
      /invalid "launcher.secretEnvironment": DB is already set by launcher.environment/],
    ['the token as a secret variable', (stack) => ({ launcher: { secretEnvironment: { SPACELIFT_TOKEN: { secret: new secretsmanager.Secret(stack, 'S') } } } }),
      /invalid "launcher.secretEnvironment": SPACELIFT_TOKEN comes from the pool credentials secret/],
    ['a reserved metadata key', { launcher: { metadata: { asg_id: 'x' } } }, /invalid "launcher.metadata": "asg_id" is set from instance metadata/],
    ['a bad mask name', { launcher: { maskEnvs: ['not-a-name'] } }, /invalid "launcher.maskEnvs"/],
    ['a bad whitelist name', { launcher: { whitelistEnvs: ['ro-FOO'] } }, /invalid "launcher.whitelistEnvs"/],
    ['a relative mount', { launcher: { extraMounts: [{ hostPath: 'cache', containerPath: '/cache' }] } }, /invalid "launcher.extraMounts": "cache" must be an absolute path/],
    ['a sub-second timeout', { launcher: { runTimeout: Duration.millis(1500) } }, /invalid "launcher.runTimeout": must be a whole number of seconds/],
    ['both comms url and region', { launcher: { comms: WorkerComms.poll({ url: 'https://x.example', region: SpaceliftRegion.US }) } }, /invalid "launcher.comms": set either url or region/],
    ['an http comms url', { launcher: { comms: WorkerComms.poll({ url: 'http://x.example' }) } }, /invalid "launcher.comms": url must be an https:\/\/ URL/],
    ['self-hosted without a comms url', (stack) => ({ selfHosted: { launcherBucket: s3.Bucket.fromBucketName(stack, 'B', 'launchers'), launcherObjectKey: 'l', launcherSha256: 'a'.repeat(64) } }),
      /invalid "launcher.comms": self-hosted Spacelift needs the base URL/],
    ['self-hosted with a signing key', (stack) => ({ selfHosted: { launcherBucket: s3.Bucket.fromBucketName(stack, 'B', 'launchers'), launcherObjectKey: 'l', launcherSha256: 'a'.repeat(64) },
      launcher: { comms: WorkerComms.poll({ url: 'https://x.example' }) }, signingKeyFingerprint: 'A'.repeat(40) }), /invalid "signingKeyFingerprint": does not apply with selfHosted/],
    ['a malformed SHA256', (stack) => ({ selfHosted: { launcherBucket: s3.Bucket.fromBucketName(stack, 'B', 'launchers'), launcherObjectKey: 'l', launcherSha256: 'abc' },
      launcher: { comms: WorkerComms.poll({ url: 'https://x.example' }) } }), /invalid "selfHosted.launcherSha256": must be 64 hexadecimal digits/],
    ['a signing key without a fingerprint', { signingKey: '-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----' },
      /invalid "signingKeyFingerprint": is required with signingKey/],
    ['another fingerprint for the embedded key', { signingKeyFingerprint: 'A'.repeat(40) }, /invalid "signingKey": is required with a signingKeyFingerprint other than Spacelift's/],
    ['a short fingerprint', { signingKey: '-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----', signingKeyFingerprint: 'E302FB5AA29D88F7' },
      /invalid "signingKeyFingerprint": must be a 40-digit/],
    ['a signing key that is not armored', { signingKey: 'mQINBF', signingKeyFingerprint: 'A'.repeat(40) }, /invalid "signingKey": must be an ASCII-armored/],
    ['a download URL that is not https', { downloadBaseUrl: 'ftp://mirror' }, /invalid "downloadBaseUrl": must be an https:\/\/ URL/],
    ['a plain http download URL', { downloadBaseUrl: 'http://mirror.corp.example/spacelift' }, /invalid "downloadBaseUrl": must be an https:\/\/ URL/],
    ['self-hosted without a SHA256', (stack) => ({ selfHosted: { launcherBucket: s3.Bucket.fromBucketName(stack, 'B', 'launchers'), launcherObjectKey: 'l' } as any,
      launcher: { comms: WorkerComms.poll({ url: 'https://x.example' }) } }), /invalid "selfHosted.launcherSha256": is required/],
    ['a proxy with credentials', { launcher: { proxy: { httpsProxy: 'http://user:secret@proxy:3128' } } },
      /invalid "launcher.proxy.httpsProxy": must not contain credentials/],
    ['noProxy without a proxy', { launcher: { proxy: { noProxy: ['.corp'] } } }, /invalid "launcher.proxy.noProxy": needs httpProxy or httpsProxy/],
    ['a CA that is not PEM', { launcher: { caCertificates: ['MIIB'] } }, /invalid "launcher.caCertificates": each entry must be one PEM certificate/],
    ['a bad user name', { launcher: { runAsUser: 'Bad User' } }, /invalid "launcher.runAsUser"/],
    ['an empty pre-start command', { preStartHooks: { commands: [' '] } }, /invalid "preStartHooks.commands"/],
    ['user data over 16 KB', { launcher: { caCertificates: Array.from({ length: 8 }, () => PEM.replace('MIIB', crypto.randomBytes(900).toString('base64'))) } },
      /invalid "launcher": the worker user data would be about \d+ bytes, over EC2's 16384-byte limit/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
