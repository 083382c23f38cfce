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
import { MOTO_ENDPOINT_ENV, MOTO_STATE_DIR_ENV, REGION } from '../support/moto';

const INSTALL = "python3 -m pip install 'moto[server]'";
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
  const motoServer = which('moto_server');
  if (motoServer === undefined) {
    throw new Error(`moto_server is not installed, and the integ tests need it (an AWS emulator). Install it with: ${INSTALL}`);
  }
  bundleHandlers();

  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ec2-workerpool-integ-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(stateDir, 'moto.log'), 'a');
  // Own process group (detached), so teardown can stop moto and anything it spawned in one signal.
  const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  globalThis.__integMoto = { child, stateDir };
  fs.writeFileSync(path.join(stateDir, 'moto.pid'), String(child.pid));
  let exited: string | undefined;
  child.once('exit', (code, signal) => { exited = `exited with ${signal ?? code}`; });

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`moto_server ${exited} at start; its log: ${fs.readFileSync(path.join(stateDir, 'moto.log'), 'utf8').slice(-2000)}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not answer ${endpoint}/moto-api/ within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // No profile, config file or session can point the SDKs or the CDK CLI anywhere but moto.
  const emptyConfig = path.join(stateDir, 'aws-config');
  fs.writeFileSync(emptyConfig, '');
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_') || name === 'AWS_PROFILE' || name === 'AWS_SESSION_TOKEN' || name === 'AWS_ROLE_ARN'
      || name === 'AWS_WEB_IDENTITY_TOKEN_FILE' || name === 'AWS_CONTAINER_CREDENTIALS_FULL_URI' || name === 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI') {
      delete process.env[name];
    }
  }
  Object.assign(process.env, {
    [MOTO_ENDPOINT_ENV]: endpoint,
    [MOTO_STATE_DIR_ENV]: stateDir,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  });
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

function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
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
