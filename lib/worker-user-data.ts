import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Fn, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';
import { WorkerPoolConfigError } from './validation';

/**
 * Internal module: renders `bootstrap/worker-bootstrap.sh` into user data. Nothing here is part of
 * the public API (it is not exported from the package index).
 */

/** Fingerprint of the key Spacelift signs launcher checksums with (`spacelift.io <contact@spacelift.io>`). */
export const SPACELIFT_SIGNING_KEY_FINGERPRINT = '175FD97AD2358EFE02832978E302FB5AA29D88F7';
export const DEFAULT_DOWNLOAD_BASE_URL = 'https://downloads.spacelift.io';
/** EC2 limits user data to 16 KB before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16384;

const BOOTSTRAP_DIR = path.join(__dirname, 'bootstrap');
const TEMPLATE = path.join(BOOTSTRAP_DIR, 'worker-bootstrap.sh');
const SIGNING_KEY_FILE = path.join(BOOTSTRAP_DIR, 'spacelift-signing-key.asc');
const PACK_MARKER = '# @@PACK@@';
/** Room reserved per CloudFormation token (an ARN, a name), whose resolved length is unknown at synth. */
const TOKEN_ALLOWANCE_BYTES = 128;
const TOKEN_MARKER = /\$\{Token\[[^\]]+\]\}/g;

/** Spacelift's launcher signing key, as shipped in this package. */
export function embeddedSigningKey(): string {
  if (!fs.existsSync(SIGNING_KEY_FILE)) {
    throw new Error(`the Spacelift signing key is missing from this package (${SIGNING_KEY_FILE})`);
  }
  return fs.readFileSync(SIGNING_KEY_FILE, 'utf8');
}

/** One variable the bootstrap reads from Secrets Manager at service start. */
export interface SecretEnvironmentEntry {
  readonly name: string;
  readonly secretArn: string;
  /** JSON key inside the secret string; '' for the whole string. */
  readonly jsonKey: string;
}

/** Values rendered into the bootstrap script. None of them may be a secret. */
export interface WorkerBootstrapParameters {
  readonly credentialsSecretArn: string;
  readonly tokenKey: string;
  readonly privateKeyKey: string;
  readonly infoLogGroupName: string;
  readonly errorLogGroupName: string;
  readonly poweroffDelaySeconds: number;
  readonly powerOffOnError: boolean;
  /** Download mode (SaaS): base URL, armored key and pinned fingerprint. */
  readonly downloadBaseUrl: string;
  readonly signingKey: string;
  readonly signingKeyFingerprint: string;
  /** S3 mode (self-hosted): the launcher object, its SHA256 and the account that must own the bucket. */
  readonly launcherS3Uri?: string;
  readonly launcherSha256?: string;
  readonly launcherBucketOwner?: string;
  /** Plain launcher environment (names already validated). */
  readonly launcherEnvironment: Record<string, string>;
  readonly secretEnvironment: SecretEnvironmentEntry[];
  /** User-chosen SPACELIFT_WHITELIST_ENVS entries; the bootstrap adds the proxy variables. */
  readonly whitelistEnvs: string[];
  readonly httpProxy?: string;
  readonly httpsProxy?: string;
  readonly noProxy?: string;
  /** PEM certificates for the OS trust store. */
  readonly caCertificates: string[];
  /** Dedicated user for the launcher; undefined runs it as root. */
  readonly launcherUser?: string;
  /** ECR registry hosts to `docker login` to. */
  readonly ecrRegistries: string[];
  readonly preStartCommands: string[];
}

/**
 * Host paths, the metadata endpoint and retry timing. Production values are the defaults; tests point
 * them into a sandbox. These change where the script works, never what it does.
 */
export interface WorkerBootstrapInternals {
  readonly imdsUrl: string;
  readonly retryCount: number;
  readonly retryDelaySeconds: number;
  readonly warmPoolPollSeconds: number;
  readonly systemdDir: string;
  readonly runDir: string;
  readonly libexecDir: string;
  readonly logDir: string;
  readonly launcherPath: string;
  readonly caAnchorDir: string;
  readonly cloudwatchAgentDir: string;
}

export const PRODUCTION_INTERNALS: WorkerBootstrapInternals = {
  imdsUrl: 'http://169.254.169.254',
  retryCount: 5,
  retryDelaySeconds: 3,
  // A hibernated instance resumes in the middle of this sleep and sleeps out the rest before it sees InService;
  // the poll is a local metadata read, so a short one costs nothing and keeps warm starts fast.
  warmPoolPollSeconds: 2,
  systemdDir: '/etc/systemd/system',
  runDir: '/run/spacelift',
  libexecDir: '/usr/local/libexec/spacelift',
  logDir: '/var/log/spacelift',
  launcherPath: '/usr/bin/spacelift-launcher',
  caAnchorDir: '/etc/pki/ca-trust/source/anchors',
  cloudwatchAgentDir: '/opt/aws/amazon-cloudwatch-agent',
};

/** The rendered script in plain text: what shellcheck checks and what user data unpacks to. */
export function renderWorkerBootstrapScript(scope: IConstruct, params: WorkerBootstrapParameters, internals = PRODUCTION_INTERNALS): string {
  const { head, body } = renderParts(scope, params, internals);
  return `${head.map((l) => l.text).join('\n')}\n${PACK_MARKER}\n${body}`;
}

/**
 * The user data: the script's head (header, the parameters that are CloudFormation tokens and the
 * systemd unit) in plain text; the literal parameters and the program after the pack marker gzip+base64
 * encoded. The full script does not fit in EC2's 16 KB user data limit otherwise (Spacelift's RSA key
 * alone is 4 KB). Tokens must stay in plain text for CloudFormation to resolve them.
 */
export function packWorkerBootstrap(scope: IConstruct, params: WorkerBootstrapParameters, internals = PRODUCTION_INTERNALS): string {
  return pack(renderParts(scope, params, internals));
}

function pack({ head, body }: { head: HeadLine[]; body: string }): string {
  const inline = head.filter((l) => !l.parameter || l.token);
  const moved = head.filter((l) => !inline.includes(l)).map((l) => l.text);
  const program = [...moved, ...stripComments(body)].join('\n') + '\n';
  const gzip = zlib.gzipSync(Buffer.from(program, 'utf8'), { level: 9 });
  gzip[9] = 3; // the OS byte, so that the output is the same on every build machine
  const packed = gzip.toString('base64');
  // The shebang, then the head's code without its comments (plain text in the user data counts in full).
  const [shebang, ...code] = inline.map((l) => l.text);
  return [
    shebang,
    '# cdk-ec2-workerpool worker bootstrap (lib/bootstrap/worker-bootstrap.sh in the package, with its comments).',
    ...stripComments(code.join('\n')),
    '# The literal parameters and the program, gzip+base64. To read them:',
    '#   sed -n "s/^packed=.\\(.*\\).$/\\1/p" <this file> | base64 -d | gunzip',
    `packed='${packed}'`,
    'if ! program=$(printf %s "$packed" | base64 -d | gunzip); then',
    '  echo "spacelift-bootstrap: FATAL: cannot unpack the bootstrap program; shutting down" >&2',
    '  systemctl poweroff',
    '  exit 1',
    'fi',
    'eval "$program"',
    '',
  ].join('\n');
}

/**
 * cloud-init runs user data on the first boot only, and Auto Scaling stops a warm pool instance as soon as it
 * has launched, without waiting for user data: a bootstrap cut short there would never run again, and the
 * instance would go in service with no launcher. So a warm pool's instances run the bootstrap (idempotent)
 * at every boot.
 * @see https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
 */
const EVERY_BOOT_CLOUD_CONFIG = '#cloud-config\ncloud_final_modules:\n- [scripts-user, always]\n';
const MIME_BOUNDARY = '+AWS+Spacelift+Worker+Bootstrap+';

/** The bootstrap as launch template user data; refuses configurations that exceed EC2's limit. */
export function renderWorkerBootstrap(scope: IConstruct, params: WorkerBootstrapParameters, options: { everyBoot?: boolean } = {}): ec2.UserData {
  const parts = renderParts(scope, params, PRODUCTION_INTERNALS);
  const packed = pack(parts);
  const script = options.everyBoot ? everyBoot(packed) : packed;
  // A token parameter resolves to base64 of its value: estimate it with each token at a typical size.
  const tokenBytes = parts.head.filter((l) => l.token).reduce((sum, l) => {
    const raw = Buffer.byteLength(l.value.replace(TOKEN_MARKER, ''), 'utf8') + (l.value.match(TOKEN_MARKER)?.length ?? 0) * TOKEN_ALLOWANCE_BYTES;
    return sum + Math.ceil(raw / 3) * 4;
  }, 0);
  const estimate = Buffer.byteLength(script.replace(TOKEN_MARKER, ''), 'utf8') + tokenBytes;
  if (estimate > USER_DATA_LIMIT_BYTES) {
    throw new WorkerPoolConfigError(scope, 'launcher',
      `the worker user data would be about ${estimate} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte limit; `
      + 'shorten launcher.caCertificates, launcher.environment or preStartHooks.commands (store large files in S3 and fetch them in a pre-start command)');
  }
  return ec2.UserData.custom(script);
}

/** MIME multi-part user data: the cloud-config that runs user scripts at every boot, then the script itself. */
function everyBoot(script: string): string {
  const part = (contentType: string, body: string) => `--${MIME_BOUNDARY}\nContent-Type: ${contentType}; charset="utf-8"\n\n${body}\n`;
  return [
    'Content-Type: multipart/mixed; boundary="' + MIME_BOUNDARY + '"',
    'MIME-Version: 1.0',
    '',
    part('text/cloud-config', EVERY_BOOT_CLOUD_CONFIG),
    part('text/x-shellscript', script),
    `--${MIME_BOUNDARY}--`,
    '',
  ].join('\n');
}

interface HeadLine {
  readonly text: string;
  readonly parameter: boolean;
  readonly token: boolean;
  /** The parameter's value, before quoting. */
  readonly value: string;
}

function renderParts(scope: IConstruct, params: WorkerBootstrapParameters, internals: WorkerBootstrapInternals) {
  for (const [name, value] of Object.entries(internals)) {
    if (typeof value === 'number' ? !Number.isInteger(value) || value < 0 : !/^(\/|https?:\/\/)[A-Za-z0-9._:/-]*$/.test(value)) {
      throw new Error(`bootstrap internal ${name} is not valid: ${value}`);
    }
  }
  // For the size estimate: a JSON parameter as text, with its tokens still visible as markers.
  const estimateSource: Record<string, string> = {};
  const json = (name: string, value: unknown): string => {
    const plain = JSON.stringify(value);
    estimateSource[name] = plain;
    return Token.isUnresolved(plain) ? Stack.of(scope).toJsonString(value) : plain;
  };
  const values: Record<string, string> = {
    CREDENTIALS_SECRET_ARN: params.credentialsSecretArn,
    TOKEN_KEY: params.tokenKey,
    PRIVATE_KEY_KEY: params.privateKeyKey,
    INFO_LOG_GROUP: params.infoLogGroupName,
    ERROR_LOG_GROUP: params.errorLogGroupName,
    LAUNCHER_S3_URI: params.launcherS3Uri ?? '',
    LAUNCHER_SHA256: params.launcherSha256 ?? '',
    LAUNCHER_BUCKET_OWNER: params.launcherBucketOwner ?? '',
    DOWNLOAD_BASE_URL: params.launcherS3Uri ? '' : params.downloadBaseUrl,
    SIGNING_KEY: params.launcherS3Uri ? '' : params.signingKey,
    SIGNING_KEY_FINGERPRINT: params.launcherS3Uri ? '' : params.signingKeyFingerprint,
    LAUNCHER_ENV: json('LAUNCHER_ENV', params.launcherEnvironment),
    SECRET_ENV: json('SECRET_ENV', params.secretEnvironment),
    WHITELIST_ENVS: params.whitelistEnvs.join(','),
    HTTP_PROXY_URL: params.httpProxy ?? '',
    HTTPS_PROXY_URL: params.httpsProxy ?? '',
    NO_PROXY_LIST: params.noProxy ?? '',
    CA_CERTIFICATES: params.caCertificates.map((pem) => pem.trim()).join('\n'),
    LAUNCHER_USER: params.launcherUser ?? '',
    ECR_REGISTRIES: params.ecrRegistries.join(' '),
    PRE_START_COMMANDS: params.preStartCommands.join('\n'),
    POWER_OFF_ON_ERROR: params.powerOffOnError ? 'true' : 'false',
    POWEROFF_DELAY_SECONDS: String(params.poweroffDelaySeconds),
    IMDS_URL: internals.imdsUrl,
    RETRY_COUNT: String(internals.retryCount),
    RETRY_DELAY_SECONDS: String(internals.retryDelaySeconds),
    WARM_POOL_POLL_SECONDS: String(internals.warmPoolPollSeconds),
    SYSTEMD_DIR: internals.systemdDir,
    RUN_DIR: internals.runDir,
    LIBEXEC_DIR: internals.libexecDir,
    LOG_DIR: internals.logDir,
    LAUNCHER_PATH: internals.launcherPath,
    CA_ANCHOR_DIR: internals.caAnchorDir,
    CLOUDWATCH_AGENT_DIR: internals.cloudwatchAgentDir,
  };

  const template = fs.readFileSync(TEMPLATE, 'utf8');
  const split = template.indexOf(`\n${PACK_MARKER}\n`);
  if (split < 0) throw new Error(`bootstrap template has no "${PACK_MARKER}" line`);
  const used = new Set<string>();
  const head = template.slice(0, split).split('\n').map((line): HeadLine => {
    const match = /^([A-Z0-9_]+)=@@([A-Z0-9_]+)@@$/.exec(line);
    if (!match) return { text: line, parameter: false, token: false, value: '' };
    const [, variable, name] = match;
    if (variable !== name || !(name in values) || used.has(name)) {
      throw new Error(`bootstrap template line "${line}" does not match a parameter`);
    }
    used.add(name);
    const value = values[name];
    const token = Token.isUnresolved(value);
    // A literal $ or ` inside single quotes is meant literally.
    const directive = !token && /[$`]/.test(value) ? '# shellcheck disable=SC2016\n' : '';
    return { text: `${directive}${name}=${shellWord(name, value)}`, parameter: true, token, value: estimateSource[name] ?? value };
  });
  const body = template.slice(split + PACK_MARKER.length + 2);
  const missing = Object.keys(values).filter((name) => !used.has(name));
  const leftover = /@@[A-Z0-9_]+@@/.exec(head.map((l) => l.text).join('\n') + body);
  if (missing.length > 0 || leftover) {
    throw new Error(`bootstrap template and parameters disagree: ${missing.join(', ') || leftover?.[0]}`);
  }
  return { head, body };
}

/**
 * One shell word for a value. Literals are single-quoted (a quote inside becomes '\''); a
 * CloudFormation token cannot be escaped at synth, so it travels base64 encoded (Fn::Base64) and is
 * decoded at run time, whatever characters it resolves to.
 */
function shellWord(name: string, value: string): string {
  if (Token.isUnresolved(value)) {
    return `"$(printf %s '${Fn.base64(value)}' | base64 -d)"`;
  }
  if (value.includes('\0')) {
    throw new Error(`bootstrap parameter ${name} contains a NUL character`);
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Drops comment-only and blank lines and the indentation of the packed program, which bash ignores, to keep the user
 * data under EC2's 16 KB. Here-document bodies are kept as they are (their text is output, not code).
 */
function stripComments(program: string): string[] {
  const kept: string[] = [];
  let hereDocEnd: string | undefined;
  for (const line of program.split('\n')) {
    if (hereDocEnd !== undefined) {
      kept.push(line);
      if (line === hereDocEnd) hereDocEnd = undefined;
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    kept.push(trimmed);
    hereDocEnd = /<<-?\s*'?([A-Za-z_][A-Za-z0-9_]*)'?\s*$/.exec(trimmed)?.[1];
  }
  return kept;
}
