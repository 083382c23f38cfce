/**
 * Jest global setup: one temporary folder per test run, removed by the global teardown
 * (temp-root-teardown.ts). TMPDIR points into it, so that everything the tests and the libraries
 * they drive put in the temp dir (aws-cdk-lib's `cdk.out*` of every `App` without an outdir, the
 * packed tarball and `node_modules` of the consumer gates, GnuPG homes) goes with it: about 240 MB
 * per run otherwise. Outside the repository on purpose: an app installed there must not resolve
 * packages from the project's own node_modules.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PREFIX = 'cdk-ec2-workerpool-test-';
const OWNER_FILE = '.owner-pid';

declare global {
  var __testTempRoot: { dir: string; previousTmpdir: string | undefined } | undefined;
}

export default function setup(): void {
  const base = os.tmpdir();
  removeAbandoned(base);
  const dir = fs.mkdtempSync(path.join(base, PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  globalThis.__testTempRoot = { dir, previousTmpdir: process.env.TMPDIR };
  // Workers start after global setup and inherit it; tests run in band use this process's env.
  process.env.TMPDIR = dir;
}

export function teardown(): void {
  const root = globalThis.__testTempRoot;
  if (root === undefined) return;
  globalThis.__testTempRoot = undefined;
  if (root.previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = root.previousTmpdir;
  fs.rmSync(root.dir, { recursive: true, force: true });
}

/** Folders of earlier runs that were killed before their teardown (their jest process is gone). */
function removeAbandoned(base: string): void {
  for (const name of fs.readdirSync(base).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(base, name);
    const pid = Number(readOrEmpty(path.join(dir, OWNER_FILE)));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
