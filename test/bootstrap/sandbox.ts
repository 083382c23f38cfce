import { execFile, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import {
  embeddedSigningKey,
  packWorkerBootstrap,
  renderWorkerBootstrapScript,
  SPACELIFT_SIGNING_KEY_FINGERPRINT,
  type WorkerBootstrapInternals,
  type WorkerBootstrapParameters,
} from '../../lib/worker-user-data';
import { recommendedApp } from '../support/recommended-app';

/**
 * A sandbox that runs the real bootstrap script without touching the machine: every host path is
 * redirected under a temp dir (the secrets directory under /dev/shm, a real tmpfs), AWS and systemd
 * are PATH stubs that record their calls, and one local HTTP server plays the launcher download
 * site and IMDSv2.
 */

export const ARCH = 'x86_64';
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spacelift/pool-AbCdEf';
export const INSTANCE = { 'instance-id': 'i-0123456789abcdef0', 'ami-id': 'ami-0fedcba9876543210', 'placement/region': 'eu-west-1',
  'tags/instance/aws:autoscaling:groupName': 'Test-PoolGroup-1A2B3C' };

/** Pure bash, so what the script hands the launcher is what we read back. */
export const fakeLauncher = (dump: string) => `#!/bin/bash\nenv -0 > '${dump}'\necho "fake launcher ran as $(id -u)"\n`;

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function tokenFor(brokerEndpoint: string): string {
  return Buffer.from(JSON.stringify({ broker: { endpoint: brokerEndpoint }, pool: 'test' })).toString('base64');
}

// --- a throwaway GnuPG home with test keys ------------------------------------------------------

export class TestGpg {
  public readonly home = fs.mkdtempSync(path.join(os.tmpdir(), 'gpg-'));
  private readonly fingerprints = new Map<string, string>();

  public generate(name: string): string {
    this.gpg(['--passphrase', '', '--quick-gen-key', `${name} <${name.toLowerCase().replace(/\W/g, '')}@example.invalid>`, 'ed25519', 'sign', 'never']);
    const listing = this.gpg(['--with-colons', '--list-keys', `${name} <`]);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
    this.fingerprints.set(name, fpr);
    return fpr;
  }

  public fingerprint(name: string): string {
    return this.fingerprints.get(name)!;
  }

  public armored(...names: string[]): string {
    return this.gpg(['--armor', '--export', ...names.map((n) => this.fingerprint(n))]);
  }

  public sign(name: string, data: string): Buffer {
    const dir = fs.mkdtempSync(path.join(this.home, 'sign-'));
    fs.writeFileSync(path.join(dir, 'data'), data);
    this.gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', this.fingerprint(name),
      '--detach-sign', '-o', path.join(dir, 'data.sig'), path.join(dir, 'data')]);
    return fs.readFileSync(path.join(dir, 'data.sig'));
  }

  public close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: this.home }, stdio: 'ignore' });
    } finally {
      fs.rmSync(this.home, { recursive: true, force: true });
    }
  }

  private gpg(args: string[]): string {
    return execFileSync('gpg', ['--batch', '--yes', ...args], { env: { ...process.env, GNUPGHOME: this.home }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

// --- the download site and IMDSv2 ----------------------------------------------------------------

export class FakeEndpoints {
  /** Download files by name (under /downloads/). */
  public readonly files = new Map<string, Buffer | string>();
  /** Names answered with HTTP 500. */
  public readonly failing = new Set<string>();
  /** Requests per path. */
  public readonly hits = new Map<string, number>();
  /** Instance metadata by path; a missing path is a 404. */
  public metadata: Record<string, string> = { ...INSTANCE };
  /** Successive answers for autoscaling/target-lifecycle-state; the last one repeats. */
  public lifecycle: string[] = ['InService'];
  private readonly server: http.Server;
  private readonly imdsToken = crypto.randomBytes(8).toString('hex');

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  public async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    this.hits.set(url, (this.hits.get(url) ?? 0) + 1);
    const send = (status: number, body: Buffer | string = '') => {
      res.writeHead(status, { 'content-type': 'application/octet-stream' });
      res.end(body);
    };
    if (url === '/latest/api/token') {
      return req.method === 'PUT' && req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ? send(200, this.imdsToken) : send(400);
    }
    if (url.startsWith('/latest/meta-data/')) {
      if (req.headers['x-aws-ec2-metadata-token'] !== this.imdsToken) return send(401);
      const key = decodeURIComponent(url.slice('/latest/meta-data/'.length));
      if (key === 'autoscaling/target-lifecycle-state') {
        return send(200, this.lifecycle.length > 1 ? this.lifecycle.shift()! : this.lifecycle[0]);
      }
      return key in this.metadata ? send(200, this.metadata[key]) : send(404, 'Not Found');
    }
    if (url.startsWith('/downloads/')) {
      const name = url.slice('/downloads/'.length);
      if (this.failing.has(name)) return send(500, 'boom');
      const file = this.files.get(name);
      return file === undefined ? send(404) : send(200, file);
    }
    send(404);
  }
}

// --- the instance -------------------------------------------------------------------------------

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

export class Sandbox {
  public readonly base = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-'));
  /** The instance's file system (everything the script writes, except tmpfs). */
  public readonly root = path.join(this.base, 'root');
  /** A real tmpfs: the script refuses to write secrets anywhere else. */
  public readonly shm = fs.mkdtempSync('/dev/shm/spacelift-test-');
  public readonly internals: WorkerBootstrapInternals;
  /** Where the fake launcher dumps the environment it got (outside the instance: that is the launcher's doing). */
  public readonly launcherDump = path.join(this.base, 'launcher-env');
  private readonly bin = path.join(this.base, 'bin');
  private readonly calls = path.join(this.base, 'root', 'calls');
  /** The AWS stub's secrets and objects: AWS, not the instance. */
  private readonly aws = path.join(this.base, 'aws');

  constructor(imdsUrl: string) {
    for (const dir of [this.root, this.path('/usr/bin'), this.bin, this.calls, this.aws, path.join(this.aws, 'secrets'), path.join(this.aws, 's3')]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    this.internals = {
      imdsUrl,
      retryCount: 2,
      retryDelaySeconds: 1,
      warmPoolPollSeconds: 0,
      systemdDir: this.path('/etc/systemd/system'),
      runDir: path.join(this.shm, 'spacelift'),
      libexecDir: this.path('/usr/local/libexec/spacelift'),
      logDir: this.path('/var/log/spacelift'),
      launcherPath: this.path('/usr/bin/spacelift-launcher'),
      caAnchorDir: this.path('/etc/pki/ca-trust/source/anchors'),
      cloudwatchAgentDir: this.path('/opt/aws/amazon-cloudwatch-agent'),
    };
    this.writeStubs();
  }

  /** A secret string the AWS stub serves (the stub plays Secrets Manager, outside the instance). */
  public putSecret(id: string, value: string): this {
    fs.writeFileSync(path.join(this.aws, 'secrets', safeName(id)), value);
    return this;
  }

  /** An object the AWS stub serves for `aws s3 cp`. */
  public putObject(uri: string, value: Buffer | string): this {
    fs.writeFileSync(path.join(this.aws, 's3', safeName(uri)), value);
    return this;
  }

  /** A production path, inside the sandbox. */
  public path(p: string): string {
    return path.join(this.root, p);
  }

  /** The user data as EC2 would get it, written where cloud-init keeps it. */
  public userData(params: WorkerBootstrapParameters): string {
    const stack = new Stack(recommendedApp(), 'Sandbox');
    const script = packWorkerBootstrap(stack, params, this.internals);
    const file = this.path('/var/lib/cloud/instance/scripts/part-001');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, script, { mode: 0o700 });
    return file;
  }

  /** The plain rendered script, for shellcheck. */
  public plainScript(params: WorkerBootstrapParameters): string {
    return renderWorkerBootstrapScript(new Stack(recommendedApp(), 'Sandbox'), params, this.internals);
  }

  /** Runs user data as cloud-init would: as root, from its file. */
  public install(params: WorkerBootstrapParameters, extraEnv: Record<string, string> = {}): Promise<RunResult> {
    return this.run(this.userData(params), [], extraEnv);
  }

  /** The unit's ExecStart, as systemd would run it. */
  public start(): Promise<RunResult> {
    const [command, ...args] = this.unitSetting('ExecStart').split(' ');
    return this.run(command, args);
  }

  /**
   * The unit's ExecStart until its output (stdout or stderr) shows `text`, then the instance is stopped under it (its process
   * group killed), as Auto Scaling stops a warm-up boot: whatever the script has not done by then never happens.
   */
  public startUntilStopped(text: string): Promise<RunResult & { stopped: boolean }> {
    const [command, ...args] = this.unitSetting('ExecStart').split(' ');
    const child = spawn(command, args, { env: this.env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const stop = () => {
      if (stopped || child.exitCode !== null) return;
      stopped = true;
      process.kill(-child.pid!, 'SIGKILL');
    };
    const timer = setTimeout(stop, 30_000);
    const seen = () => stdout.includes(text) || stderr.includes(text);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (seen()) stop();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (seen()) stop();
    });
    return new Promise((resolve) => child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, output: `${stdout}\n${stderr}`, stopped: stopped && seen() });
    }));
  }

  /** The unit's ExecStopPost, with the variables systemd sets for it. */
  public stopPost(serviceResult: string, exitStatus = '0'): Promise<RunResult> {
    const line = this.unitSetting('ExecStopPost');
    const match = /^\/bin\/sh -c '(.*)'$/.exec(line);
    if (!match) throw new Error(`unexpected ExecStopPost: ${line}`);
    return this.run('/bin/sh', ['-c', match[1]], { SERVICE_RESULT: serviceResult, EXIT_CODE: 'exited', EXIT_STATUS: exitStatus });
  }

  public unit(name = 'spacelift-launcher.service'): string {
    return fs.readFileSync(path.join(this.internals.systemdDir, name), 'utf8');
  }

  public unitSetting(key: string): string {
    const line = this.unit().split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`the unit has no ${key}`);
    return line.slice(key.length + 1);
  }

  /** Calls recorded by a stub, one per line. */
  public callsOf(stub: string): string[] {
    const file = path.join(this.calls, stub);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** What the fake launcher saw, or undefined if it never ran. */
  public launcherEnvironment(): Record<string, string> | undefined {
    if (!fs.existsSync(this.launcherDump)) return undefined;
    const entries = fs.readFileSync(this.launcherDump, 'utf8').split('\0').filter(Boolean);
    return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  }

  /** Every file of the instance outside tmpfs, including the stub call logs (not the AWS stub's store). */
  public filesOutsideTmpfs(): string[] {
    return walk(this.root);
  }

  public filesInTmpfs(): string[] {
    return walk(this.shm);
  }

  public close(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
    fs.rmSync(this.shm, { recursive: true, force: true });
  }

  private env(extraEnv: Record<string, string> = {}): Record<string, string> {
    return { PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`, HOME: this.path('/root'), LANG: 'C.UTF-8', ...extraEnv };
  }

  private run(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
    const env = this.env(extraEnv);
    return new Promise((resolve) => {
      execFile(command, args, { env, timeout: 30_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as any).code === 'number' ? (error as any).code : 1) : 0;
        resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
      });
    });
  }

  private writeStubs(): void {
    const record = (name: string) => `printf '%s\\n' "$*" >> '${path.join(this.calls, name)}'`;
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(this.bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    stub('systemctl', `${record('systemctl')}\nif [[ "$1" == is-system-running ]]; then echo running; fi\nexit 0`);
    stub('shutdown', `${record('shutdown')}`);
    stub('uname', 'echo x86_64');
    stub('update-ca-trust', `${record('update-ca-trust')}\nexit "\${FAIL_UPDATE_CA_TRUST:-0}"`);
    stub('useradd', `${record('useradd')}\ntouch '${this.calls}/user-'"\${!#}"`);
    stub('usermod', record('usermod'));
    stub('getent', `[[ "$1" == passwd && -f '${this.calls}/user-'"$2" ]] || exit 2\necho "$2:x:1983:1983::/var/lib/$2:/sbin/nologin"`);
    stub('chown', record('chown'));
    stub('setpriv', `${record('setpriv')}\nwhile [[ "$1" != -- ]]; do shift; done\nshift\nexec "$@"`);
    stub('docker', `${record('docker')}\nprintf '%s\\n' "$(cat)" >> '${this.calls}/docker-stdin'\nmkdir -p "$2" && echo '{"auths":{}}' > "$2/config.json"`);
    // The image's CloudWatch agent.
    fs.mkdirSync(path.join(this.internals.cloudwatchAgentDir, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(this.internals.cloudwatchAgentDir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(this.internals.cloudwatchAgentDir, 'bin', 'amazon-cloudwatch-agent-ctl'), `#!/bin/bash\n${record('cloudwatch-agent')}\n`, { mode: 0o755 });
    // aws: Secrets Manager and S3 from files, ECR login passwords; anything else fails.
    stub('aws', `${record('aws')}
safe() { printf '%s' "$1" | tr -c 'A-Za-z0-9' '_'; }
args=(); while (($#)); do case "$1" in --region|--query|--output|--secret-id|--expected-bucket-owner) opt=$1; val=$2; shift 2; [[ $opt == --secret-id ]] && id=$val ;; --*) shift ;; *) args+=("$1"); shift ;; esac; done
case "\${args[0]} \${args[1]}" in
  "secretsmanager get-secret-value")
    f='${this.aws}/secrets/'"$(safe "$id")"
    [[ -f "$f" ]] || { echo "An error occurred (ResourceNotFoundException): Secrets Manager can't find the specified secret." >&2; exit 254; }
    cat "$f"; echo ;;
  "s3 cp")
    f='${this.aws}/s3/'"$(safe "\${args[2]}")"
    [[ -f "$f" ]] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 1; }
    cp "$f" "\${args[3]}" ;;
  "ecr get-login-password") echo ecr-password-for-test ;;
  *) echo "unexpected aws call" >&2; exit 2 ;;
esac`);
  }
}

export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '_');
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : entry.isFile() ? [full] : [];
  });
}

/** Parameters for a SaaS pool whose launcher comes from the fake download site. */
export function downloadParams(downloadBaseUrl: string, signingKey: string, fingerprint: string,
  overrides: Partial<WorkerBootstrapParameters> = {}): WorkerBootstrapParameters {
  return {
    credentialsSecretArn: SECRET_ARN,
    tokenKey: 'SPACELIFT_TOKEN',
    privateKeyKey: 'SPACELIFT_POOL_PRIVATE_KEY',
    infoLogGroupName: 'Test-PoolLogsInfo-1A2B',
    errorLogGroupName: 'Test-PoolLogsError-3C4D',
    poweroffDelaySeconds: 0,
    powerOffOnError: true,
    downloadBaseUrl,
    signingKey,
    signingKeyFingerprint: fingerprint,
    launcherEnvironment: { SPACELIFT_WORKER_COMMS_PROTOCOL: 'poll', SPACELIFT_WORKER_COMMS_URL: 'https://app.spacelift.io' },
    secretEnvironment: [],
    whitelistEnvs: [],
    caCertificates: [],
    ecrRegistries: [],
    preStartCommands: [],
    ...overrides,
  };
}

/** The production parameters of a default pool, for shellcheck and size checks. */
export function productionParams(overrides: Partial<WorkerBootstrapParameters> = {}): WorkerBootstrapParameters {
  return downloadParams('https://downloads.spacelift.io', embeddedSigningKey(), SPACELIFT_SIGNING_KEY_FINGERPRINT, { poweroffDelaySeconds: 15, ...overrides });
}
