import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { WorkerBootstrapParameters } from '../../lib/worker-user-data';
import { requireAptTool } from '../support/tools';
import {
  ARCH, downloadParams, FakeEndpoints, fakeLauncher, INSTANCE, productionParams, Sandbox, SECRET_ARN, sha256, TestGpg, tokenFor,
} from './sandbox';

// The real bootstrap script, executed: user data as cloud-init runs it, then the unit's ExecStart and
// ExecStopPost as systemd would. Nothing waits for real: retries take 1 s, the poweroff delay is 0.

const CANARY = 'CANARY4f1e9c0dMustNotLeak';
const TOKEN = tokenFor('a1b2c3-ats.iot.eu-west-1.amazonaws.com');
const PRIVATE_KEY = `${CANARY}PrivateKey0==`;
const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-XyZ123';
/** Quotes, a dollar, backticks, a command substitution, a backslash and a newline. */
const tricky = (marker: string) => `it's a "quoted" $HOME \`touch ${marker}\` $(touch ${marker}) value with spaces\\ and a\nnewline;`;
const LAUNCHER_NAME = `spacelift-launcher-${ARCH}`;

let gpg: TestGpg;
let endpoints: FakeEndpoints;
let baseUrl: string;

beforeAll(async () => {
  gpg = new TestGpg();
  gpg.generate('Pool Signer');
  gpg.generate('Rogue Signer');
  endpoints = new FakeEndpoints();
  baseUrl = await endpoints.start();
}, 60_000);

afterAll(async () => {
  await endpoints?.stop();
  gpg?.close();
});

beforeEach(() => {
  endpoints.files.clear();
  endpoints.failing.clear();
  endpoints.hits.clear();
  endpoints.metadata = { ...INSTANCE };
  endpoints.lifecycle = ['InService'];
});

/** Publishes a launcher with its SHA256SUMS and a detached signature on the fake download site. */
function publish(sandbox: Sandbox, options: { signer?: string; name?: string; sumsHash?: string } = {}): string {
  const name = options.name ?? LAUNCHER_NAME;
  const launcher = fakeLauncher(sandbox.launcherDump);
  const sums = `${options.sumsHash ?? sha256(launcher)}  ${name}\n`;
  endpoints.files.set(name, launcher);
  endpoints.files.set(`${name}_SHA256SUMS`, sums);
  endpoints.files.set(`${name}_SHA256SUMS.sig`, gpg.sign(options.signer ?? 'Pool Signer', sums));
  return launcher;
}

function params(overrides: Partial<WorkerBootstrapParameters> = {}): WorkerBootstrapParameters {
  return downloadParams(`${baseUrl}/downloads`, gpg.armored('Pool Signer'), gpg.fingerprint('Pool Signer'), overrides);
}

/** A sandbox whose Secrets Manager holds the pool credentials. */
function instance(token = TOKEN): Sandbox {
  return new Sandbox(baseUrl).putSecret(SECRET_ARN, JSON.stringify({ SPACELIFT_TOKEN: token, SPACELIFT_POOL_PRIVATE_KEY: PRIVATE_KEY }));
}

/** Installs, then runs ExecStart, which must fail with the launcher neither installed nor run. Returns stderr. */
async function expectStartToFail(sandbox: Sandbox, parameters: WorkerBootstrapParameters): Promise<string> {
  const install = await sandbox.install(parameters);
  expect(install.code).toBe(0);
  const start = await sandbox.start();
  expect(start.code).not.toBe(0);
  expect(sandbox.launcherEnvironment()).toBeUndefined();
  expect(fs.existsSync(sandbox.internals.launcherPath)).toBe(false);
  expect(fs.existsSync(path.join(sandbox.internals.runDir, 'env'))).toBe(false);
  return start.stderr;
}

test('shellcheck passes on the raw script, the rendered script and the packed user data', () => {
  const shellcheck = requireAptTool('shellcheck');
  const sandbox = new Sandbox('http://169.254.169.254');
  try {
    const raw = path.join(__dirname, '..', '..', 'lib', 'bootstrap', 'worker-bootstrap.sh');
    const everything = productionParams({
      launcherEnvironment: { TRICKY: tricky('/nonexistent'), SPACELIFT_DEBUG: 'true' },
      secretEnvironment: [{ name: 'DB_PASSWORD', secretArn: DB_SECRET_ARN, jsonKey: 'password' }],
      whitelistEnvs: ['ro_TF_VAR_x'], httpProxy: 'http://proxy:3128', httpsProxy: 'http://proxy:3128', noProxy: '169.254.169.254,.internal',
      caCertificates: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'], launcherUser: 'spacelift',
      ecrRegistries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com'], preStartCommands: ['echo "it\'s $(date)"'],
    });
    const files: Record<string, string> = {
      'rendered-default.sh': sandbox.plainScript(productionParams()),
      'rendered-everything.sh': sandbox.plainScript(everything),
      'user-data-default.sh': fs.readFileSync(sandbox.userData(productionParams()), 'utf8'),
      'user-data-everything.sh': fs.readFileSync(sandbox.userData(everything), 'utf8'),
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(sandbox.base, name), text);
    const targets = [raw, ...Object.keys(files).map((n) => path.join(sandbox.base, n))];
    const result = spawnSync(shellcheck, ['--severity=style', '--shell=bash', ...targets], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
    // The packed user data unpacks to the rendered script's program.
    expect(files['user-data-default.sh']).toContain('eval "$program"');
    expect(execFileSync('bash', ['-c', `sed -n "s/^packed=.\\(.*\\).$/\\1/p" '${path.join(sandbox.base, 'user-data-default.sh')}' | base64 -d | gunzip`],
      { encoding: 'utf8' })).toContain('check_signature "${1}/${2}"');
  } finally {
    sandbox.close();
  }
});

describe('a launcher signed by the pinned key', () => {
  let sandbox: Sandbox;
  let install: Awaited<ReturnType<Sandbox['install']>>;
  let start: Awaited<ReturnType<Sandbox['start']>>;
  let environment: Record<string, string>;
  let envFileMode: number;
  const pwned = () => path.join(sandbox.base, 'pwned');

  beforeAll(async () => {
    sandbox = instance();
    sandbox.putSecret(DB_SECRET_ARN, JSON.stringify({ password: `${tricky(pwned())} ${CANARY}`, port: 5432 }));
    publish(sandbox);
    const parameters = params({
      launcherEnvironment: {
        SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll',
        SPACELIFT_WORKER_COMMS_URL: 'https://app.spacelift.io',
        SPACELIFT_METADATA_team: 'platform',
        TRICKY: tricky(pwned()),
      },
      secretEnvironment: [
        { name: 'DB_PASSWORD', secretArn: DB_SECRET_ARN, jsonKey: 'password' },
        { name: 'DB_PORT', secretArn: DB_SECRET_ARN, jsonKey: 'port' },
      ],
      whitelistEnvs: ['TF_VAR_region', 'ro_TF_VAR_readonly'],
      httpProxy: 'http://proxy.internal:3128',
      httpsProxy: 'http://proxy.internal:3128',
      noProxy: '127.0.0.1,.internal,169.254.169.254', // the fake download site is local
      ecrRegistries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com'],
      preStartCommands: [`echo "token=\${SPACELIFT_TOKEN:-unset} proxy=\${HTTPS_PROXY:-unset}" > '${path.join(sandbox.base, 'hook-ran')}'`],
    });
    install = await sandbox.install(parameters);
    start = await sandbox.start();
    environment = sandbox.launcherEnvironment() ?? {};
    envFileMode = fs.existsSync(path.join(sandbox.internals.runDir, 'env'))
      ? fs.statSync(path.join(sandbox.internals.runDir, 'env')).mode & 0o777 : -1;
  }, 60_000);

  afterAll(() => sandbox?.close());

  test('user data installs the unit, enables it for warm-pool restarts and starts it', () => {
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('bootstrap complete');
    expect(sandbox.callsOf('systemctl')).toEqual([
      'daemon-reload',
      'try-restart docker.service',
      'enable --now spacelift-ecr-login.timer',
      'enable spacelift-launcher.service',
      'start --no-block spacelift-launcher.service',
    ]);
    const self = path.join(sandbox.internals.libexecDir, 'worker-bootstrap');
    expect(fs.statSync(self).mode & 0o777).toBe(0o700);
    expect(sandbox.unit()).toContain(`ExecStart=${self} start\n`);
    expect(sandbox.unit()).toContain(`ExecStopPost=/bin/sh -c '${self} stop-post || systemctl poweroff'\n`);
    expect(sandbox.unit()).toMatch(/Restart=no\n/);
    expect(sandbox.unit()).toMatch(/WantedBy=multi-user.target/);
    expect(sandbox.unit('spacelift-ecr-login.timer')).toContain('OnUnitActiveSec=6h');
  });

  test('ExecStart verifies the download, writes the environment to tmpfs with mode 0600 and execs the launcher', () => {
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`the launcher checksums are signed by ${gpg.fingerprint('Pool Signer')}`);
    expect(start.stdout).toContain('fake launcher ran as 0');
    expect(fs.readFileSync(sandbox.internals.launcherPath, 'utf8')).toBe(fakeLauncher(sandbox.launcherDump));
    expect(envFileMode).toBe(0o600);
    expect(fs.statSync(sandbox.internals.runDir).mode & 0o777).toBe(0o700);
    expect(execFileSync('stat', ['-f', '-c', '%T', sandbox.internals.runDir], { encoding: 'utf8' }).trim()).toBe('tmpfs');
    expect(environment).toMatchObject({
      SPACELIFT_TOKEN: TOKEN,
      SPACELIFT_POOL_PRIVATE_KEY: PRIVATE_KEY,
      SPACELIFT_METADATA_instance_id: 'i-0123456789abcdef0',
      SPACELIFT_METADATA_ami_id: 'ami-0fedcba9876543210',
      SPACELIFT_METADATA_asg_id: 'Test-PoolGroup-1A2B3C',
      SPACELIFT_METADATA_team: 'platform',
      SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll',
      SPACELIFT_WORKER_COMMS_URL: 'https://app.spacelift.io',
      DB_PORT: '5432',
    });
    // The bootstrap's own temp dir on tmpfs is not handed to the launcher.
    expect(environment.TMPDIR).toBeUndefined();
    // The environment file is what the launcher got: sourcing it in a clean shell gives the same values.
    const fromFile = execFileSync('bash', ['-c', `source '${path.join(sandbox.internals.runDir, 'env')}'; printf '%s' "$DB_PASSWORD"`], { encoding: 'utf8', env: {} });
    expect(fromFile).toBe(environment.DB_PASSWORD);
  });

  test('values with spaces, quotes, $, backticks and newlines arrive unchanged and are never executed', () => {
    expect(environment.TRICKY).toBe(tricky(pwned()));
    expect(environment.DB_PASSWORD).toBe(`${tricky(pwned())} ${CANARY}`);
    expect(fs.existsSync(pwned())).toBe(false);
  });

  test('proxies reach the launcher, the Docker daemon and, through SPACELIFT_WHITELIST_ENVS, run containers', () => {
    expect(environment).toMatchObject({
      HTTP_PROXY: 'http://proxy.internal:3128', HTTPS_PROXY: 'http://proxy.internal:3128', NO_PROXY: '127.0.0.1,.internal,169.254.169.254',
      http_proxy: 'http://proxy.internal:3128', https_proxy: 'http://proxy.internal:3128', no_proxy: '127.0.0.1,.internal,169.254.169.254',
    });
    const whitelist = environment.SPACELIFT_WHITELIST_ENVS.split(',');
    expect(whitelist).toEqual(['TF_VAR_region', 'ro_TF_VAR_readonly', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']);
    expect(fs.readFileSync(path.join(sandbox.internals.systemdDir, 'docker.service.d', 'spacelift-proxy.conf'), 'utf8')).toBe(
      '[Service]\nEnvironment="HTTP_PROXY=http://proxy.internal:3128"\nEnvironment="HTTPS_PROXY=http://proxy.internal:3128"\n'
      + 'Environment="NO_PROXY=127.0.0.1,.internal,169.254.169.254"\n');
  });

  test('pre-start hooks run before the launcher: an ECR login into tmpfs, then the commands, which see no secret', () => {
    expect(sandbox.callsOf('aws')).toContain('ecr get-login-password --region eu-west-1');
    expect(sandbox.callsOf('docker')).toEqual([
      `--config ${sandbox.internals.runDir}/docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com`,
    ]);
    expect(sandbox.callsOf('docker-stdin')).toEqual(['ecr-password-for-test']);
    expect(environment.SPACELIFT_DOCKER_CONFIG_DIR).toBe(`${sandbox.internals.runDir}/docker`);
    expect(fs.readFileSync(path.join(sandbox.base, 'hook-ran'), 'utf8')).toBe('token=unset proxy=http://proxy.internal:3128\n');
  });

  test('the CloudWatch agent ships the launcher logs to the pool\'s log groups', () => {
    const config = JSON.parse(fs.readFileSync(path.join(sandbox.internals.cloudwatchAgentDir, 'etc', 'spacelift-pool.json'), 'utf8'));
    expect(config.logs.logs_collected.files.collect_list).toEqual([
      { file_path: `${sandbox.internals.logDir}/info.log`, log_group_name: 'Test-PoolLogsInfo-1A2B', log_stream_name: '{instance_id}', timezone: 'UTC' },
      { file_path: `${sandbox.internals.logDir}/error.log`, log_group_name: 'Test-PoolLogsError-3C4D', log_stream_name: '{instance_id}', timezone: 'UTC' },
      { file_path: `${sandbox.internals.logDir}/bootstrap.log`, log_group_name: 'Test-PoolLogsError-3C4D', log_stream_name: '{instance_id}-bootstrap', timezone: 'UTC' },
    ]);
    expect(config.metrics).toBeUndefined();
    expect(sandbox.callsOf('cloudwatch-agent')).toHaveLength(1);
  });

  test('the canary secret exists only in the tmpfs environment file: not in user data, logs or any other file', () => {
    const leaking = sandbox.filesOutsideTmpfs().filter((file) => fs.readFileSync(file).includes(CANARY));
    expect(leaking).toEqual([]);
    expect(`${install.output}${start.stdout}${start.stderr}`).not.toContain(CANARY);
    expect(sandbox.filesInTmpfs().filter((file) => fs.readFileSync(file).includes(CANARY))).toEqual([path.join(sandbox.internals.runDir, 'env')]);
  });

  test('ExecStopPost removes the secrets from tmpfs and shuts the instance down', async () => {
    const stop = await sandbox.stopPost('success');
    expect(stop.code).toBe(0);
    expect(stop.stderr).toContain('the launcher exited; shutting down in 0s');
    expect(sandbox.callsOf('systemctl').slice(-2)).toEqual(['is-system-running', 'poweroff']);
    expect(sandbox.filesInTmpfs().filter((file) => fs.readFileSync(file).includes(CANARY))).toEqual([]);
  });
});

describe('the launcher never runs', () => {
  let sandbox: Sandbox;
  afterEach(() => sandbox?.close());

  test('when the checksums are signed by another key, even one in the keyring', async () => {
    sandbox = instance();
    publish(sandbox, { signer: 'Rogue Signer' });
    const stderr = await expectStartToFail(sandbox, params({ signingKey: gpg.armored('Pool Signer', 'Rogue Signer') }));
    expect(stderr).toContain(`FATAL: the launcher checksums are signed by ${gpg.fingerprint('Rogue Signer')}, `
      + `not by the pinned key ${gpg.fingerprint('Pool Signer')}`);
  });

  test('when the signer is not the embedded key', async () => {
    sandbox = instance();
    publish(sandbox, { signer: 'Rogue Signer' });
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toMatch(/FATAL: the launcher checksums signature is not valid for the pinned key [0-9A-F]{40} \(key [0-9A-F]{16}\)/);
  });

  test('when the launcher does not match its signed checksum', async () => {
    sandbox = instance();
    publish(sandbox, { sumsHash: sha256('another binary') });
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toContain(`FATAL: launcher checksum mismatch for ${LAUNCHER_NAME}: expected ${sha256('another binary')}, got `);
  });

  test('when the download keeps failing, after the configured retries', async () => {
    sandbox = instance();
    publish(sandbox);
    endpoints.failing.add(LAUNCHER_NAME);
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toContain(`FATAL: could not download ${baseUrl}/downloads/${LAUNCHER_NAME} (gave up after 2 retries)`);
    expect(endpoints.hits.get(`/downloads/${LAUNCHER_NAME}`)).toBe(3);
  });

  test('when a secret is missing', async () => {
    sandbox = instance();
    publish(sandbox);
    const stderr = await expectStartToFail(sandbox, params({ secretEnvironment: [{ name: 'DB_PASSWORD', secretArn: DB_SECRET_ARN, jsonKey: 'password' }] }));
    expect(stderr).toContain(`FATAL: could not read secret ${DB_SECRET_ARN}`);
  });

  test('when the credentials secret lacks a key', async () => {
    sandbox = new Sandbox(baseUrl).putSecret(SECRET_ARN, JSON.stringify({ SPACELIFT_TOKEN: TOKEN }));
    publish(sandbox);
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toContain(`FATAL: secret ${SECRET_ARN} is not JSON with the key 'SPACELIFT_POOL_PRIVATE_KEY'`);
  });

  test('when writing the environment fails after a secret line: ExecStopPost leaves no part of it in tmpfs', async () => {
    sandbox = instance();
    sandbox.putSecret(DB_SECRET_ARN, JSON.stringify({ password: CANARY }));
    publish(sandbox);
    // A name env_line refuses (synth refuses it too; a full tmpfs fails the same way), after a line with the secret.
    expect((await sandbox.install(params({ secretEnvironment: [
      { name: 'DB_PASSWORD', secretArn: DB_SECRET_ARN, jsonKey: 'password' },
      { name: 'BAD-NAME', secretArn: DB_SECRET_ARN, jsonKey: 'password' },
    ] }))).code).toBe(0);
    const start = await sandbox.start();
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain("FATAL: invalid environment variable name 'BAD-NAME'");
    expect(`${start.stdout}${start.stderr}`).not.toContain(CANARY);
    expect(sandbox.launcherEnvironment()).toBeUndefined();
    await sandbox.stopPost('exit-code', '1');
    expect(sandbox.filesInTmpfs().filter((file) => fs.readFileSync(file).includes(CANARY))).toEqual([]);
  });

  test('when instance metadata is empty', async () => {
    sandbox = instance();
    publish(sandbox);
    endpoints.metadata['tags/instance/aws:autoscaling:groupName'] = '';
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toContain('FATAL: instance metadata tags/instance/aws:autoscaling:groupName is empty; refusing to register a worker without it');
  });

  test('when instance metadata tags are off (no ASG name)', async () => {
    sandbox = instance();
    publish(sandbox);
    delete endpoints.metadata['tags/instance/aws:autoscaling:groupName'];
    const stderr = await expectStartToFail(sandbox, params());
    expect(stderr).toContain('FATAL: could not read tags/instance/aws:autoscaling:groupName from instance metadata');
  });
});

test('secrets are read in the region of their ARN, not only the instance\'s', async () => {
  const credentialsArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift/pool-AbCdEf';
  const dbArn = 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app/db-XyZ123';
  const sandbox = new Sandbox(baseUrl)
    .putSecret(credentialsArn, JSON.stringify({ SPACELIFT_TOKEN: TOKEN, SPACELIFT_POOL_PRIVATE_KEY: PRIVATE_KEY }))
    .putSecret(dbArn, JSON.stringify({ password: 'pw' }));
  try {
    publish(sandbox);
    expect((await sandbox.install(params({
      credentialsSecretArn: credentialsArn, secretEnvironment: [{ name: 'DB_PASSWORD', secretArn: dbArn, jsonKey: 'password' }],
    }))).code).toBe(0);
    const start = await sandbox.start();
    expect(start.stderr).toBe('');
    expect(sandbox.callsOf('aws').filter((c) => c.startsWith('secretsmanager'))).toEqual([
      `secretsmanager get-secret-value --region us-east-1 --secret-id ${credentialsArn} --query SecretString --output text`,
      `secretsmanager get-secret-value --region us-gov-west-1 --secret-id ${dbArn} --query SecretString --output text`,
    ]);
    expect(sandbox.launcherEnvironment()).toMatchObject({ SPACELIFT_TOKEN: TOKEN, DB_PASSWORD: 'pw' });
  } finally {
    sandbox.close();
  }
});

test('a warm-pool instance waits while its target state is Warmed:*, then proceeds once it is InService', async () => {
  const sandbox = instance();
  try {
    publish(sandbox);
    endpoints.lifecycle = ['Warmed:Pending', 'Warmed:Running', 'Warmed:Running', 'InService'];
    expect((await sandbox.install(params())).code).toBe(0);
    const start = await sandbox.start();
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('warm pool instance (target state Warmed:Pending): waiting for InService');
    expect(start.stdout).toContain('warm pool instance (target state Warmed:Running): waiting for InService');
    expect(start.stdout).toMatch(/the target lifecycle state is InService[\s\S]*fake launcher ran/);
    expect(endpoints.hits.get('/latest/meta-data/autoscaling/target-lifecycle-state')).toBe(4);
    expect(sandbox.launcherEnvironment()?.SPACELIFT_METADATA_instance_id).toBe('i-0123456789abcdef0');
  } finally {
    sandbox.close();
  }
});

describe('a warm pool instance: the warm-up boot prepares the launcher, the warm start only verifies it again', () => {
  const PREPARED = 'kept it for the warm start';
  const kept = (sandbox: Sandbox, name = LAUNCHER_NAME) => path.join(sandbox.internals.libexecDir, 'launcher', name);
  const downloads = (name = LAUNCHER_NAME) => endpoints.hits.get(`/downloads/${name}`) ?? 0;
  let sandbox: Sandbox;
  afterEach(() => sandbox?.close());

  /** The warm-up boot: user data, then ExecStart until the launcher is prepared, when Auto Scaling stops the instance. */
  async function warmUp(parameters = params()) {
    endpoints.lifecycle = ['Warmed:Pending:Wait'];
    expect((await sandbox.install(parameters)).code).toBe(0);
    const boot = await sandbox.startUntilStopped(PREPARED);
    expect(boot.stopped).toBe(true);
    return boot;
  }

  /** The warm start: the instance is started again and its target state is InService. */
  async function warmStart(parameters = params()) {
    endpoints.lifecycle = ['InService'];
    expect((await sandbox.install(parameters)).code).toBe(0);
    return sandbox.start();
  }

  test('the warm-up boot downloads and verifies the launcher, and neither reads a secret nor starts it', async () => {
    sandbox = instance();
    const launcher = publish(sandbox);
    const boot = await warmUp();
    expect(boot.stderr).toBe('');
    expect(boot.stdout).toContain('warm pool instance (target state Warmed:Pending:Wait): waiting for InService');
    expect(boot.stdout).toContain(`the launcher checksums are signed by ${gpg.fingerprint('Pool Signer')}`);
    expect(boot.stdout).toContain(`verified ${LAUNCHER_NAME} (sha256 ${sha256(launcher)}) and ${PREPARED}`);
    expect(downloads()).toBe(1);
    expect(fs.readFileSync(kept(sandbox), 'utf8')).toBe(launcher);
    // Nothing registers: no secret read, no environment file, no launcher installed or run.
    expect(sandbox.callsOf('aws')).toEqual([]);
    expect(fs.existsSync(path.join(sandbox.internals.runDir, 'env'))).toBe(false);
    expect(fs.existsSync(sandbox.internals.launcherPath)).toBe(false);
    expect(sandbox.launcherEnvironment()).toBeUndefined();
  });

  test('the warm start downloads nothing: it verifies the kept launcher again, reads the secrets and starts it', async () => {
    sandbox = instance();
    const launcher = publish(sandbox);
    await warmUp();
    const start = await warmStart();
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`the launcher checksums are signed by ${gpg.fingerprint('Pool Signer')}`);
    expect(start.stdout).toContain(`installed ${LAUNCHER_NAME} (sha256 ${sha256(launcher)}, downloaded in the warm-up boot)`);
    expect(downloads()).toBe(1);
    expect(endpoints.hits.get(`/downloads/${LAUNCHER_NAME}_SHA256SUMS.sig`)).toBe(1);
    expect(sandbox.launcherEnvironment()).toMatchObject({ SPACELIFT_TOKEN: TOKEN, SPACELIFT_POOL_PRIVATE_KEY: PRIVATE_KEY });
    expect(fs.readFileSync(sandbox.internals.launcherPath, 'utf8')).toBe(launcher);
    expect(fs.existsSync(kept(sandbox))).toBe(false);
    // The secrets stay on tmpfs, as in a cold boot.
    expect(sandbox.filesOutsideTmpfs().filter((file) => fs.readFileSync(file).includes(CANARY))).toEqual([]);
  });

  test.each([
    ['a changed binary', (s: Sandbox) => fs.writeFileSync(kept(s), '#!/bin/bash\necho tampered\n'), 'launcher checksum mismatch'],
    ['checksums signed by another key', (s: Sandbox) => {
      const sums = `${sha256('#!/bin/bash\necho tampered\n')}  ${LAUNCHER_NAME}\n`;
      fs.writeFileSync(kept(s), '#!/bin/bash\necho tampered\n');
      fs.writeFileSync(`${kept(s)}_SHA256SUMS`, sums);
      fs.writeFileSync(`${kept(s)}_SHA256SUMS.sig`, gpg.sign('Rogue Signer', sums));
    }, 'the launcher checksums signature is not valid for the pinned key'],
  ])('a kept launcher that no longer verifies (%s) is downloaded again and verified', async (_, tamper, reason) => {
    sandbox = instance();
    const launcher = publish(sandbox);
    await warmUp();
    tamper(sandbox);
    const start = await warmStart();
    expect(start.code).toBe(0);
    expect(start.stderr).toContain(`the launcher kept from the warm-up boot does not verify: ${reason}`);
    expect(start.stdout).toContain(`installed ${LAUNCHER_NAME} (sha256 ${sha256(launcher)})`);
    expect(downloads()).toBe(2);
    expect(fs.readFileSync(sandbox.internals.launcherPath, 'utf8')).toBe(launcher);
    expect(start.stdout).not.toContain('tampered');
  });

  test('a warm-up boot whose download fails leaves it to the warm start, and is not an error', async () => {
    sandbox = instance();
    const launcher = publish(sandbox);
    endpoints.failing.add(LAUNCHER_NAME);
    endpoints.lifecycle = ['Warmed:Pending:Wait'];
    expect((await sandbox.install(params())).code).toBe(0);
    const boot = await sandbox.startUntilStopped('the warm start downloads the launcher');
    expect(boot.stopped).toBe(true);
    expect(boot.stderr).toContain(`could not download ${baseUrl}/downloads/${LAUNCHER_NAME} (gave up after 2 retries); the warm start downloads the launcher`);
    expect(boot.stderr).not.toContain('FATAL');
    expect(fs.readdirSync(sandbox.internals.libexecDir)).toEqual(['worker-bootstrap']);
    endpoints.failing.clear();
    const start = await warmStart();
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`installed ${LAUNCHER_NAME} (sha256 ${sha256(launcher)})\n`);
  }, 20_000);

  test('self-hosted: the warm-up boot copies the S3 object and checks the pinned SHA256; the warm start does not copy it again', async () => {
    sandbox = instance();
    const launcher = fakeLauncher(sandbox.launcherDump);
    sandbox.putObject('s3://launchers/spacelift-launcher', launcher);
    const parameters = params({ launcherS3Uri: 's3://launchers/spacelift-launcher', launcherSha256: sha256(launcher), launcherBucketOwner: '123456789012' });
    await warmUp(parameters);
    expect(sandbox.callsOf('aws')).toEqual([
      expect.stringMatching(/^s3 cp --only-show-errors --region eu-west-1 --expected-bucket-owner 123456789012 s3:\/\/launchers\/spacelift-launcher /),
    ]);
    const start = await warmStart(parameters);
    expect(start.stderr).toBe('');
    expect(start.stdout).toContain(`installed spacelift-launcher (sha256 ${sha256(launcher)}, downloaded in the warm-up boot)`);
    expect(sandbox.callsOf('aws').filter((c) => c.startsWith('s3 '))).toHaveLength(1);
    expect(sandbox.launcherEnvironment()?.SPACELIFT_TOKEN).toBe(TOKEN);
  });

  test('a FedRAMP pool, which only its token tells apart, downloads its own build at the warm start', async () => {
    const fedrampName = `spacelift-launcher-fedramp-${ARCH}`;
    const parameters = params({ launcherEnvironment: { SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://acme.app.fedramp.spacelift.io' } });
    sandbox = instance(tokenFor('tls://a1b2c3.fedramp.spacelift.io:8883'));
    publish(sandbox);
    const fedrampLauncher = publish(sandbox, { name: fedrampName });
    await warmUp(parameters);
    expect(downloads()).toBe(1);
    const start = await warmStart(parameters);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`installed ${fedrampName} (sha256 ${sha256(fedrampLauncher)})\n`);
    expect(downloads(fedrampName)).toBe(1);
    expect(fs.existsSync(kept(sandbox))).toBe(false);
  });
});

// With a warm pool cloud-init runs user data at every boot (lib/worker-user-data.ts), since Auto Scaling may stop
// the warm-up boot in the middle of it: the second run, at the warm start, must simply install again.
test('user data run again at the warm start is idempotent: it installs again, then the launcher starts once InService', async () => {
  const sandbox = instance();
  try {
    publish(sandbox);
    endpoints.lifecycle = ['Warmed:Stopped', 'InService'];
    expect((await sandbox.install(params())).code).toBe(0);
    const unit = sandbox.unit();
    const again = await sandbox.install(params());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('bootstrap complete');
    expect(sandbox.unit()).toBe(unit);
    const start = await sandbox.start();
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/the target lifecycle state is InService[\s\S]*fake launcher ran/);
  } finally {
    sandbox.close();
  }
});

test('a FedRAMP token selects the FedRAMP launcher, and refuses the commercial poll URL', async () => {
  const sandbox = instance(tokenFor('tls://a1b2c3.fedramp.spacelift.io:8883'));
  try {
    publish(sandbox, { name: `spacelift-launcher-fedramp-${ARCH}` });
    expect((await sandbox.install(params())).code).toBe(0);
    const refused = await sandbox.start();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('FATAL: a FedRAMP pool cannot poll the commercial SaaS URL');

    const fedrampUrl = 'https://acme.app.fedramp.spacelift.io';
    expect((await sandbox.install(params({ launcherEnvironment: { SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: fedrampUrl } }))).code).toBe(0);
    const start = await sandbox.start();
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('FedRAMP worker pool (broker a1b2c3.fedramp.spacelift.io)');
    expect(endpoints.hits.get(`/downloads/spacelift-launcher-fedramp-${ARCH}`)).toBe(2);
    expect(endpoints.hits.has(`/downloads/${LAUNCHER_NAME}`)).toBe(false);
    expect(sandbox.launcherEnvironment()?.SPACELIFT_WORKER_COMMS_URL).toBe(fedrampUrl);
  } finally {
    sandbox.close();
  }
});

describe('self-hosted', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG11kO9pMA0GCSqGSIb3DQEBCwUAMA0xCzAJBgNVBAYTAlVT\n-----END CERTIFICATE-----';
  let sandbox: Sandbox;
  afterEach(() => sandbox?.close());

  test('the launcher comes from S3, matches the given SHA256, and runs as the dedicated user; CAs reach the trust store', async () => {
    sandbox = instance();
    const launcher = fakeLauncher(sandbox.launcherDump);
    sandbox.putObject('s3://launchers/spacelift-launcher', launcher);
    const parameters = params({
      launcherS3Uri: 's3://launchers/spacelift-launcher', launcherSha256: sha256(launcher), launcherBucketOwner: '123456789012',
      launcherUser: 'spacelift', caCertificates: [CA],
      ecrRegistries: ['123456789012.dkr.ecr.us-east-2.amazonaws.com'],
      launcherEnvironment: { SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://spacelift.corp.example' },
    });
    const install = await sandbox.install(parameters);
    expect(install.code).toBe(0);
    expect(sandbox.callsOf('useradd')).toEqual(['--system --create-home --home-dir /var/lib/spacelift --shell /sbin/nologin spacelift']);
    expect(sandbox.callsOf('usermod')).toEqual(['-aG docker spacelift']);
    expect(sandbox.callsOf('update-ca-trust')).toEqual(['extract']);
    expect(fs.readFileSync(path.join(sandbox.internals.caAnchorDir, 'spacelift-custom-ca.pem'), 'utf8')).toBe(`${CA}\n`);
    expect(sandbox.callsOf('systemctl')).toContain('try-restart docker.service');

    const start = await sandbox.start();
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(sandbox.callsOf('aws').filter((c) => c.startsWith('s3 cp'))).toEqual([
      expect.stringMatching(new RegExp(`^s3 cp --only-show-errors --region eu-west-1 --expected-bucket-owner 123456789012 s3://launchers/spacelift-launcher ${sandbox.internals.runDir}/launcher\\.\\w+/spacelift-launcher$`)),
    ]);
    expect([...endpoints.hits.keys()].filter((url) => !url.startsWith('/latest/'))).toEqual([]); // nothing from the download site
    expect(sandbox.callsOf('setpriv')).toEqual([`--reuid=1983 --regid=1983 --init-groups -- ${sandbox.internals.launcherPath}`]);
    expect(sandbox.launcherEnvironment()).toMatchObject({ HOME: '/var/lib/spacelift', SPACELIFT_TOKEN: TOKEN });
    expect(fs.statSync(path.join(sandbox.internals.runDir, 'env')).mode & 0o777).toBe(0o600);
    // The user reaches its Docker config through the secrets directory, which it cannot list.
    expect(sandbox.callsOf('aws')).toContain('ecr get-login-password --region us-east-2');
    expect(sandbox.callsOf('chown')).toEqual([`-R spacelift ${sandbox.internals.runDir}/docker`]);
    expect(fs.statSync(sandbox.internals.runDir).mode & 0o777).toBe(0o711);
  });

  test('a launcher that does not match the given SHA256 never runs', async () => {
    sandbox = instance();
    sandbox.putObject('s3://launchers/spacelift-launcher', fakeLauncher(sandbox.launcherDump));
    const stderr = await expectStartToFail(sandbox, params({
      launcherS3Uri: 's3://launchers/spacelift-launcher', launcherSha256: sha256('the binary we meant'), launcherBucketOwner: '123456789012',
    }));
    expect(stderr).toContain(`FATAL: launcher checksum mismatch for spacelift-launcher: expected ${sha256('the binary we meant')}`);
  });

  test('a bucket owner that is not an account id stops the start before any download', async () => {
    sandbox = instance();
    sandbox.putObject('s3://launchers/spacelift-launcher', fakeLauncher(sandbox.launcherDump));
    const stderr = await expectStartToFail(sandbox, params({
      launcherS3Uri: 's3://launchers/spacelift-launcher', launcherSha256: sha256(fakeLauncher(sandbox.launcherDump)), launcherBucketOwner: '',
    }));
    expect(stderr).toContain('FATAL: the launcher bucket owner \'\' is not an AWS account id');
    expect(sandbox.callsOf('aws').filter((c) => c.startsWith('s3 '))).toEqual([]);
  });
});

describe('shutdown', () => {
  let sandbox: Sandbox;
  afterEach(() => sandbox?.close());

  test('a failed start powers the instance off from ExecStopPost', async () => {
    sandbox = new Sandbox(baseUrl);
    publish(sandbox);
    await expectStartToFail(sandbox, params());
    const stop = await sandbox.stopPost('exit-code', '1');
    expect(stop.stderr).toContain('the launcher failed (exit-code: exited/1); shutting down in 0s');
    expect(sandbox.callsOf('systemctl')).toContain('poweroff');
  });

  test('with powerOffOnError off, a failed worker stays up for debugging', async () => {
    sandbox = new Sandbox(baseUrl);
    publish(sandbox);
    await expectStartToFail(sandbox, params({ powerOffOnError: false }));
    expect(sandbox.unitSetting('ExecStopPost')).toMatch(/stop-post \|\| exit 0'$/);
    const stop = await sandbox.stopPost('exit-code', '1');
    expect(stop.stderr).toContain('powerOffOnError is false, so the instance stays up for debugging');
    expect(sandbox.callsOf('systemctl')).not.toContain('poweroff');
  });

  test('a failing step in user data stops the bootstrap there (errexit) and powers off', async () => {
    sandbox = new Sandbox(baseUrl);
    const install = await sandbox.install(params({ caCertificates: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'] }),
      { FAIL_UPDATE_CA_TRUST: '1' });
    expect(install.code).not.toBe(0);
    expect(install.output).toContain('bootstrap failed with status 1; shutting down in 0s');
    expect(sandbox.callsOf('systemctl')).toEqual(['poweroff']);
    expect(fs.existsSync(path.join(sandbox.internals.systemdDir, 'spacelift-launcher.service'))).toBe(false);
  });
});
