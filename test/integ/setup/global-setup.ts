/**
 * Starts moto (`moto_server`) on 127.0.0.1 at a free port for the integ project, bundles the Lambda
 * handlers the tests run, and exports the endpoint and dummy credentials. Variables set on
 * process.env here reach the test workers, which start afterwards. global-teardown.ts stops moto.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { requirePythonTool } from '../../support/tools';
import { MOTO_ENDPOINT_ENV, MOTO_STATE_DIR_ENV, REGION } from '../support/moto';

const START_TIMEOUT_MS = 30_000;
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Shared with global-teardown.ts, which runs in the same process. */
export interface MotoHandle {
  readonly child: ChildProcess;
  readonly stateDir: string;
}
declare global {
  var __integMoto: MotoHandle | undefined;
}

export default async function globalSetup(): Promise<void> {
  // From PATH, or installed into the project's .venv-tools; otherwise the error names the command to run.
  const motoServer = requirePythonTool('moto_server');
  bundleHandlers();

  // No profile, session or per-service endpoint of the caller's environment reaches the SDKs, the CDK
  // CLI or moto's own boto3: only the dummy settings below.
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_') || name === 'AWS_PROFILE' || name === 'AWS_SESSION_TOKEN' || name === 'AWS_ROLE_ARN'
      || name === 'AWS_WEB_IDENTITY_TOKEN_FILE' || name === 'AWS_CONTAINER_CREDENTIALS_FULL_URI' || name === 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI') {
      delete process.env[name];
    }
  }
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ec2-workerpool-integ-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(stateDir, 'moto.log'), 'a');
  const emptyConfig = path.join(stateDir, 'aws-config');
  fs.writeFileSync(emptyConfig, '');
  // Own process group (detached), so teardown can stop moto and anything it spawned in one signal.
  // moto uses boto3 internally (e.g. when it tries to run the custom resource's Lambda): with no
  // credentials it would look for them at the EC2 metadata address, which is not loopback.
  const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...dummyAwsEnvironment(emptyConfig) },
  });
  fs.closeSync(log);
  globalThis.__integMoto = { child, stateDir };
  fs.writeFileSync(path.join(stateDir, 'moto.pid'), String(child.pid));
  let exited: string | undefined;
  child.once('exit', (code, signal) => { exited = `exited with ${signal ?? code}`; });

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const problem = exited !== undefined
      ? `moto_server ${exited} at start`
      : Date.now() > deadline ? `moto_server did not answer ${endpoint}/moto-api/ within ${START_TIMEOUT_MS} ms` : undefined;
    if (problem !== undefined) {
      // Jest skips globalTeardown when globalSetup fails, so nothing may be left running here.
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      const log = fs.readFileSync(path.join(stateDir, 'moto.log'), 'utf8').slice(-2000);
      fs.rmSync(stateDir, { recursive: true, force: true });
      globalThis.__integMoto = undefined;
      throw new Error(`${problem}; its log:\n${log}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  Object.assign(process.env, {
    [MOTO_ENDPOINT_ENV]: endpoint,
    [MOTO_STATE_DIR_ENV]: stateDir,
    AWS_ENDPOINT_URL: endpoint,
    ...dummyAwsEnvironment(emptyConfig),
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  });
}

/** Dummy credentials and region, and no config file or instance metadata to look anything up in. */
function dummyAwsEnvironment(emptyConfig: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The tests run the bundled handlers, so they are rebuilt from the current lambda/ sources (about 0.5 s). */
function bundleHandlers(): void {
  try {
    execFileSync('npm', ['run', '--silent', 'bundle'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`"npm run bundle" failed, so the handlers under test cannot be built:\n${stderr}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
