import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

// `npm ci` is the first set-up command. It rejects a lock file that lacks other platforms'
// optional packages, which npm omits when its registry does not serve them (see .ci/complete-lockfile.mjs).
test('npm ci accepts package.json and package-lock.json as committed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockfile-'));
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  let output = '';
  try {
    output = execFileSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '');
    throw new Error(`npm ci rejects the lock file; run node .ci/complete-lockfile.mjs after npm install.\n${stderr.slice(0, 1500)}`);
  }
  expect(output).toMatch(/added \d+ packages/);
}, 120_000);
