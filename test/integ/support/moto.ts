/**
 * The moto emulator the integ project runs against: the endpoint globalSetup started, a loopback
 * guard every suite runs first, SDK client settings, state reset and a cross-worker lock.
 *
 * moto keeps one global state, so two suites running in parallel jest workers would reset each
 * other's resources. Each suite therefore holds an exclusive lock (a file next to moto's pid file)
 * from its beforeAll to its afterAll; with one worker (the default on 2 cores) it is never contended.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Env var names globalSetup exports; kept here so setup, teardown and tests agree. */
export const MOTO_ENDPOINT_ENV = 'INTEG_MOTO_ENDPOINT';
export const MOTO_STATE_DIR_ENV = 'INTEG_MOTO_STATE_DIR';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Throws unless every AWS endpoint the SDKs and the CDK CLI could use is moto on loopback and the
 * credentials are the dummy ones. Called before any AWS call, so a misconfigured run can never reach AWS.
 */
export function assertLoopbackOnly(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env[MOTO_ENDPOINT_ENV];
  if (endpoint === undefined) {
    throw new Error(`${MOTO_ENDPOINT_ENV} is not set: run the integ tests with "npx jest --selectProjects integ" so globalSetup starts moto`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !/^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/.test(name)) continue;
    // Only used by the CDK CLI to build the TemplateURL string it hands to CloudFormation; never contacted.
    if (name === 'AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION') continue;
    const host = new URL(value).hostname;
    if (!LOOPBACK_HOSTS.has(host) && !LOOPBACK_HOSTS.has(`[${host}]`)) {
      throw new Error(`${name}=${value} is not a loopback address; the integ tests only ever talk to moto on 127.0.0.1`);
    }
  }
  if (env.AWS_ENDPOINT_URL !== endpoint) {
    throw new Error(`AWS_ENDPOINT_URL (${env.AWS_ENDPOINT_URL}) must be the moto endpoint ${endpoint}`);
  }
  if (env.AWS_ACCESS_KEY_ID !== 'test' || env.AWS_SECRET_ACCESS_KEY !== 'test' || env.AWS_SESSION_TOKEN || env.AWS_PROFILE) {
    throw new Error('the integ tests run with the dummy credentials test/test only (no session token, no profile)');
  }
  return endpoint;
}

/** Settings for SDK clients made by the tests themselves (the handlers use the environment). */
export function clientConfig() {
  return {
    region: REGION,
    endpoint: assertLoopbackOnly(),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** Wipes every resource in moto (all accounts and regions). */
export async function resetMoto(): Promise<void> {
  const response = await fetch(`${assertLoopbackOnly()}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

/** Waits for the suite lock, then resets moto. Pair with {@link releaseMoto} in afterAll. */
export async function acquireMoto(suite: string, timeoutMs = 170_000): Promise<void> {
  assertLoopbackOnly();
  const lock = lockFile();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid} ${suite}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) {
        throw new Error(`moto is still held by another suite (${fs.readFileSync(lock, 'utf8').trim()})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  await resetMoto();
}

/** Resets moto (so no suite sees another's resources) and releases the lock. */
export async function releaseMoto(): Promise<void> {
  try {
    await resetMoto();
  } finally {
    fs.rmSync(lockFile(), { force: true });
  }
}

function lockFile(): string {
  const dir = process.env[MOTO_STATE_DIR_ENV];
  if (dir === undefined) throw new Error(`${MOTO_STATE_DIR_ENV} is not set: globalSetup did not run`);
  return path.join(dir, 'suite.lock');
}
