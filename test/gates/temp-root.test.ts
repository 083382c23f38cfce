import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import setup, { teardown } from '../support/temp-root';

// Tests leave nothing behind: every temp folder (aws-cdk-lib's cdk.out*, the consumer apps, GnuPG
// homes) lands in one folder per run, which the global teardown removes.

test('this test runs inside its run\'s own temp folder', () => {
  expect(path.basename(os.tmpdir())).toMatch(/^cdk-ec2-workerpool-test-/);
  expect(Number(fs.readFileSync(path.join(os.tmpdir(), '.owner-pid'), 'utf8'))).toBeGreaterThan(0);
});

test('setup points TMPDIR at a fresh folder, teardown removes it and restores TMPDIR, and a killed run\'s folder is removed', () => {
  // os.tmpdir() is this run's folder: setup makes its folder inside, and prunes there.
  const base = os.tmpdir();
  const outer = process.env.TMPDIR;
  const dead = spawnSync('true').pid!;
  const abandoned = fs.mkdtempSync(path.join(base, 'cdk-ec2-workerpool-test-'));
  fs.writeFileSync(path.join(abandoned, '.owner-pid'), String(dead));
  const running = fs.mkdtempSync(path.join(base, 'cdk-ec2-workerpool-test-'));
  fs.writeFileSync(path.join(running, '.owner-pid'), String(process.pid));
  try {
    setup();
    const dir = process.env.TMPDIR!;
    expect(path.dirname(dir)).toBe(base);
    fs.mkdirSync(path.join(dir, 'cdk.outAbCdEf'));
    expect(fs.existsSync(abandoned)).toBe(false);
    expect(fs.existsSync(running)).toBe(true);

    teardown();
    expect(fs.existsSync(dir)).toBe(false);
    expect(process.env.TMPDIR).toBe(outer);
  } finally {
    process.env.TMPDIR = outer;
    fs.rmSync(running, { recursive: true, force: true });
  }
});
