import { Annotations, Stack, Token } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type { IConstruct } from 'constructs';
import { type LauncherOptions, RunAccess, SpaceliftRegion } from './launcher-options';
import { HOST_NETWORK, HOST_NETWORK_RISK, hostMountExposure, isPoolCredentialVariable } from './run-isolation';
import type { SpaceliftWorkerPoolProps } from './spacelift-worker-pool';
import { WorkerPoolConfigError } from './validation';
import type { WorkerPoolCredentialsConfig } from './worker-pool-credentials';
import {
  DEFAULT_DOWNLOAD_BASE_URL,
  embeddedSigningKey,
  SPACELIFT_SIGNING_KEY_FINGERPRINT,
  type SecretEnvironmentEntry,
  type WorkerBootstrapParameters,
} from './worker-user-data';

/**
 * Internal: turns the pool's bootstrap props into validated bootstrap parameters. Every error
 * names the prop at fault.
 */
export interface BootstrapInputs extends Pick<SpaceliftWorkerPoolProps,
'powerOffOnError' | 'launcher' | 'selfHosted' | 'preStartHooks' | 'downloadBaseUrl' | 'signingKey' | 'signingKeyFingerprint'> {
  readonly credentials: WorkerPoolCredentialsConfig;
  readonly infoLogGroupName: string;
  readonly errorLogGroupName: string;
  readonly poweroffDelaySeconds: number;
}

/** POSIX-style names; lower case is allowed for Terraform's case-sensitive TF_VAR_* variables. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COMMS_URLS: Record<SpaceliftRegion, string> = {
  [SpaceliftRegion.EU]: 'https://app.spacelift.io',
  [SpaceliftRegion.US]: 'https://app.us.spacelift.io',
};
const IMDS_ADDRESS = '169.254.169.254';
/** Set by the bootstrap itself; never from props. */
const BOOTSTRAP_OWNED = ['SPACELIFT_METADATA_instance_id', 'SPACELIFT_METADATA_ami_id', 'SPACELIFT_METADATA_asg_id',
  'SPACELIFT_WHITELIST_ENVS', 'SPACELIFT_DOCKER_CONFIG_DIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
const CREDENTIAL_NAMES = ['SPACELIFT_TOKEN', 'SPACELIFT_POOL_PRIVATE_KEY'];

export function workerBootstrapParameters(scope: IConstruct, inputs: BootstrapInputs): WorkerBootstrapParameters {
  const launcher = inputs.launcher ?? {};
  const error = (prop: string, message: string) => new WorkerPoolConfigError(scope, prop, message);
  const literal = (value: string | undefined): value is string => value !== undefined && !Token.isUnresolved(value);

  // Typed options, each to its documented variable; `owner` remembers which prop set which name.
  const env: Record<string, string> = {};
  const owner: Record<string, string> = {};
  const set = (name: string, value: string | undefined, prop: string) => {
    if (value === undefined) return;
    env[name] = value;
    owner[name] = prop;
  };
  const word = (prop: string, value: string | undefined, pattern = /^[^\s,]+$/) => {
    if (literal(value) && !pattern.test(value)) throw error(prop, `"${value}" is not valid (${pattern})`);
    return value;
  };
  const names = (prop: string, list: string[] | undefined, pattern = ENV_NAME) => {
    for (const name of list ?? []) {
      if (!Token.isUnresolved(name) && !pattern.test(name)) {
        throw error(prop, `"${name}" is not an environment variable name (${pattern})`);
      }
    }
    return list;
  };
  const duration = (prop: string, value: LauncherOptions['runTimeout']) => {
    if (value === undefined) return undefined;
    const seconds = value.toSeconds({ integral: false });
    if (!Token.isUnresolved(seconds) && (!Number.isInteger(seconds) || seconds < 1)) {
      throw error(prop, `must be a whole number of seconds, at least 1 (got ${seconds})`);
    }
    return `${seconds}s`;
  };

  const comms = launcher.comms;
  const protocol = comms?.protocol ?? 'poll';
  set('SPACELIFT_WORKER_COMMS_PROTOCOL', protocol, 'launcher.comms');
  if (protocol === 'poll') {
    if (comms?.url !== undefined && comms.region !== undefined) {
      throw error('launcher.comms', 'set either url or region, not both');
    }
    if (inputs.selfHosted && comms?.url === undefined) {
      throw error('launcher.comms', 'self-hosted Spacelift needs the base URL of your installation: WorkerComms.poll({ url })');
    }
    const url = comms?.url ?? COMMS_URLS[comms?.region ?? SpaceliftRegion.EU];
    if (literal(url) && !/^https:\/\/[^\s/'"\\]+(\/[^\s'"\\]*)?$/.test(url)) {
      throw error('launcher.comms', `url must be an https:// URL, got "${url}"`);
    }
    set('SPACELIFT_WORKER_COMMS_URL', literal(url) ? url.replace(/\/+$/, '') : url, 'launcher.comms');
  }
  set('SPACELIFT_LAUNCHER_RUN_TIMEOUT', duration('launcher.runTimeout', launcher.runTimeout), 'launcher.runTimeout');
  set('SPACELIFT_LAUNCHER_LOGS_TIMEOUT', duration('launcher.logsTimeout', launcher.logsTimeout), 'launcher.logsTimeout');
  set('SPACELIFT_SENSITIVE_OUTPUT_UPLOAD_ENABLED', flag(launcher.sensitiveOutputUpload), 'launcher.sensitiveOutputUpload');
  set('SPACELIFT_RUN_LOGS_ON_STANDARD_OUTPUT_ENABLED', flag(launcher.runLogsOnStandardOutput), 'launcher.runLogsOnStandardOutput');
  set('SPACELIFT_DEBUG', flag(launcher.debug), 'launcher.debug');
  set('SPACELIFT_WORKER_RUNTIME', word('launcher.runtime', launcher.runtime, /^[A-Za-z0-9_.-]+$/), 'launcher.runtime');
  set('SPACELIFT_WORKER_NETWORK', word('launcher.network', launcher.network, /^[A-Za-z0-9_.-]+$/), 'launcher.network');
  if (launcher.network === HOST_NETWORK) Annotations.of(scope).addWarningV2('cdk-ec2-workerpool:hostNetwork', HOST_NETWORK_RISK);
  set('SPACELIFT_DEFAULT_RUNNER_IMAGE', word('launcher.defaultRunnerImage', launcher.defaultRunnerImage), 'launcher.defaultRunnerImage');
  set('SPACELIFT_DEFAULT_ANSIBLE_RUNNER_IMAGE', word('launcher.defaultAnsibleRunnerImage', launcher.defaultAnsibleRunnerImage),
    'launcher.defaultAnsibleRunnerImage');
  const masked = names('launcher.maskEnvs', launcher.maskEnvs);
  if (masked?.length) set('SPACELIFT_MASK_ENVS', masked.join(','), 'launcher.maskEnvs');

  const mounts: Record<RunAccess, string[]> = { [RunAccess.ALL]: [], [RunAccess.READ_ONLY]: [], [RunAccess.WRITE_ONLY]: [] };
  for (const mount of launcher.extraMounts ?? []) {
    for (const p of [mount.hostPath, mount.containerPath]) {
      if (literal(p) && !/^\/[^\s,:]*$/.test(p)) {
        throw error('launcher.extraMounts', `"${p}" must be an absolute path without spaces, "," or ":"`);
      }
    }
    const exposure = literal(mount.hostPath) ? hostMountExposure(mount.hostPath) : undefined;
    if (exposure) {
      throw error('launcher.extraMounts', `"${mount.hostPath}" exposes the host to every run: ${exposure}`);
    }
    mounts[mount.runs ?? RunAccess.ALL].push(`${mount.hostPath}:${mount.containerPath}`);
  }
  const mountVariables: Array<[RunAccess, string]> = [[RunAccess.ALL, 'SPACELIFT_WORKER_EXTRA_MOUNTS'],
    [RunAccess.READ_ONLY, 'SPACELIFT_WORKER_RO_EXTRA_MOUNTS'], [RunAccess.WRITE_ONLY, 'SPACELIFT_WORKER_WO_EXTRA_MOUNTS']];
  for (const [runs, name] of mountVariables) {
    if (mounts[runs].length > 0) set(name, mounts[runs].join(','), 'launcher.extraMounts');
  }

  for (const [key, value] of Object.entries(launcher.metadata ?? {})) {
    if (!/^[A-Za-z0-9_]+$/.test(key)) throw error('launcher.metadata', `key "${key}" may only contain letters, digits and "_"`);
    if (['instance_id', 'ami_id', 'asg_id'].includes(key)) {
      throw error('launcher.metadata', `"${key}" is set from instance metadata by the bootstrap`);
    }
    set(`SPACELIFT_METADATA_${key}`, value, 'launcher.metadata');
  }

  const checkName = (prop: string, name: string) => {
    if (!ENV_NAME.test(name)) throw error(prop, `"${name}" is not a valid variable name (${ENV_NAME})`);
    if (CREDENTIAL_NAMES.includes(name)) {
      throw error(prop, `${name} comes from the pool credentials secret (credentials prop)`
        + (prop === 'launcher.environment' ? '; here it would be stored in plain text in user data' : ''));
    }
    if (BOOTSTRAP_OWNED.includes(name)) {
      throw error(prop, `${name} is set by the bootstrap${name.endsWith('PROXY') ? '; use launcher.proxy' : name === 'SPACELIFT_WHITELIST_ENVS' ? '; use launcher.whitelistEnvs' : ''}`);
    }
    if (owner[name]) throw error(prop, `${name} is already set by ${owner[name]}`);
  };
  for (const [name, value] of Object.entries(launcher.environment ?? {})) {
    checkName('launcher.environment', name);
    if (literal(value) && value.includes('\0')) throw error('launcher.environment', `${name} contains a NUL character`);
    set(name, value, 'launcher.environment');
  }
  const secretEnvironment: SecretEnvironmentEntry[] = [];
  for (const [name, variable] of Object.entries(launcher.secretEnvironment ?? {})) {
    checkName('launcher.secretEnvironment', name);
    const jsonKey = variable.jsonKey ?? '';
    if (literal(jsonKey) && /[\t\n\r]/.test(jsonKey)) throw error('launcher.secretEnvironment', `${name}: jsonKey must not contain tabs or newlines`);
    secretEnvironment.push({ name, secretArn: variable.secret.secretArn, jsonKey });
    owner[name] = 'launcher.secretEnvironment';
  }

  const whitelistEnvs = names('launcher.whitelistEnvs', launcher.whitelistEnvs) ?? [];
  for (const name of whitelistEnvs.filter((n) => literal(n) && isPoolCredentialVariable(n))) {
    throw error('launcher.whitelistEnvs', `"${name}" would pass the pool credentials into every run, which could then register `
      + 'workers for the pool (SPACELIFT_TOKEN* and SPACELIFT_POOL_* are refused in any case)');
  }
  const proxy = launcher.proxy ?? {};
  for (const [prop, url] of [['launcher.proxy.httpProxy', proxy.httpProxy], ['launcher.proxy.httpsProxy', proxy.httpsProxy]] as const) {
    if (!literal(url)) continue;
    if (/^[a-z]+:\/\/[^/]*@/i.test(url)) throw error(prop, 'must not contain credentials: user data is stored in plain text');
    if (!/^https?:\/\/[^\s'"\\@,]+$/.test(url)) throw error(prop, `must be an http:// or https:// URL, got "${url}"`);
  }
  for (const host of proxy.noProxy ?? []) {
    if (literal(host) && !/^[^\s,'"\\]+$/.test(host)) throw error('launcher.proxy.noProxy', `"${host}" is not a host, domain or CIDR range`);
  }
  const anyProxy = proxy.httpProxy !== undefined || proxy.httpsProxy !== undefined;
  if (!anyProxy && proxy.noProxy?.length) throw error('launcher.proxy.noProxy', 'needs httpProxy or httpsProxy');
  const noProxy = anyProxy ? [...new Set([...(proxy.noProxy ?? []), IMDS_ADDRESS])].join(',') : undefined;

  for (const pem of launcher.caCertificates ?? []) {
    if (literal(pem) && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(pem.trim())) {
      throw error('launcher.caCertificates', 'each entry must be one PEM certificate (-----BEGIN CERTIFICATE----- ...)');
    }
  }
  let launcherUser = launcher.runAsUser ?? (inputs.selfHosted ? 'spacelift' : undefined);
  if (literal(launcherUser) && !/^[a-z_][a-z0-9_-]{0,31}$/.test(launcherUser)) {
    throw error('launcher.runAsUser', `"${launcherUser}" is not a valid user name`);
  }
  if (launcherUser === 'root') launcherUser = undefined;

  const hooks = inputs.preStartHooks ?? {};
  const commands = hooks.commands ?? [];
  if (commands.some((c) => literal(c) && (c.trim() === '' || c.includes('\0')))) {
    throw error('preStartHooks.commands', 'commands must be non-empty and contain no NUL character');
  }

  const source = launcherSource(scope, inputs);
  return {
    credentialsSecretArn: inputs.credentials.secret.secretArn,
    tokenKey: inputs.credentials.tokenKey,
    privateKeyKey: inputs.credentials.privateKeyKey,
    infoLogGroupName: inputs.infoLogGroupName,
    errorLogGroupName: inputs.errorLogGroupName,
    poweroffDelaySeconds: inputs.poweroffDelaySeconds,
    powerOffOnError: inputs.powerOffOnError ?? true,
    ...source,
    launcherEnvironment: env,
    secretEnvironment,
    whitelistEnvs,
    httpProxy: proxy.httpProxy,
    httpsProxy: proxy.httpsProxy,
    noProxy,
    caCertificates: launcher.caCertificates ?? [],
    launcherUser,
    ecrRegistries: ecrRegistries(hooks.ecrRepositories ?? []),
    preStartCommands: commands,
  };
}

function launcherSource(scope: IConstruct, inputs: BootstrapInputs) {
  const error = (prop: string, message: string) => new WorkerPoolConfigError(scope, prop, message);
  const selfHosted = inputs.selfHosted;
  if (selfHosted) {
    for (const prop of ['downloadBaseUrl', 'signingKey', 'signingKeyFingerprint'] as const) {
      if (inputs[prop] !== undefined) {
        throw error(prop, 'does not apply with selfHosted: the launcher comes from S3 and is checked against its SHA256');
      }
    }
    const key = selfHosted.launcherObjectKey;
    if (!Token.isUnresolved(key) && !/^[^/\s'"\\][^\s'"\\]*$/.test(key)) {
      throw error('selfHosted.launcherObjectKey', `"${key}" is not a valid object key`);
    }
    // Required, not read from the bucket: whoever can replace the binary could replace a sums object next to it.
    let sha256 = selfHosted.launcherSha256 as string | undefined;
    if (sha256 === undefined) {
      throw error('selfHosted.launcherSha256', 'is required: workers accept only the launcher binary with this SHA256');
    }
    if (!Token.isUnresolved(sha256)) {
      if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw error('selfHosted.launcherSha256', 'must be 64 hexadecimal digits');
      sha256 = sha256.toLowerCase();
    }
    const owner = selfHosted.launcherBucket.env.account;
    if (!Token.isUnresolved(owner) && !/^[0-9]{12}$/.test(owner)) {
      throw error('selfHosted.launcherBucket', `its account must be a 12-digit AWS account id, got "${owner}"`);
    }
    return {
      downloadBaseUrl: '',
      signingKey: '',
      signingKeyFingerprint: '',
      launcherS3Uri: `s3://${selfHosted.launcherBucket.bucketName}/${key}`,
      launcherSha256: sha256,
      launcherBucketOwner: owner,
    };
  }

  let downloadBaseUrl = inputs.downloadBaseUrl ?? DEFAULT_DOWNLOAD_BASE_URL;
  if (!Token.isUnresolved(downloadBaseUrl)) {
    // Over plain http, anyone on the path could serve an older launcher with its valid signature.
    if (!/^https:\/\/[^\s'"\\]+$/.test(downloadBaseUrl)) {
      throw error('downloadBaseUrl', `must be an https:// URL, got "${downloadBaseUrl}"`);
    }
    downloadBaseUrl = downloadBaseUrl.replace(/\/+$/, '');
  }
  let fingerprint = inputs.signingKeyFingerprint ?? SPACELIFT_SIGNING_KEY_FINGERPRINT;
  if (!Token.isUnresolved(fingerprint)) {
    fingerprint = fingerprint.replace(/\s+/g, '').toUpperCase();
    if (!/^[0-9A-F]{40}$/.test(fingerprint)) {
      throw error('signingKeyFingerprint', 'must be a 40-digit hexadecimal OpenPGP v4 fingerprint');
    }
  }
  if (inputs.signingKey !== undefined && inputs.signingKeyFingerprint === undefined) {
    throw error('signingKeyFingerprint', 'is required with signingKey: the signer is pinned by fingerprint');
  }
  if (inputs.signingKey === undefined && fingerprint !== SPACELIFT_SIGNING_KEY_FINGERPRINT) {
    throw error('signingKey', `is required with a signingKeyFingerprint other than Spacelift's (${SPACELIFT_SIGNING_KEY_FINGERPRINT})`);
  }
  const signingKey = inputs.signingKey ?? embeddedSigningKey();
  if (!Token.isUnresolved(signingKey) && !/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(signingKey)) {
    throw error('signingKey', 'must be an ASCII-armored OpenPGP public key block');
  }
  return { downloadBaseUrl, signingKey, signingKeyFingerprint: fingerprint };
}

/** `<account>.dkr.ecr.<region>.<suffix>` of each repository, once each. */
function ecrRegistries(repositories: ecr.IRepository[]): string[] {
  const hosts = repositories.map((repo) => `${repo.env.account}.dkr.ecr.${repo.env.region}.${Stack.of(repo).urlSuffix}`);
  return [...new Set(hosts)];
}

function flag(value: boolean | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}
