import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

// API.md is generated from the jsii assembly. The committed copy must match what the current
// source generates, so readers of the repository never see a stale API reference.
test('the committed API.md is what jsii-docgen generates from the current source', () => {
  expect(fs.existsSync(path.join(ROOT, '.jsii'))).toBe(true);
  const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'api-docs-')), 'API.md');
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'jsii-docgen'), ['-o', fresh], { cwd: ROOT, stdio: 'pipe' });
  const committed = execFileSync('git', ['show', 'HEAD:API.md'], { cwd: ROOT, encoding: 'utf8' });
  const freshLines = fs.readFileSync(fresh, 'utf8').split('\n');
  const committedLines = committed.split('\n');
  const length = Math.max(freshLines.length, committedLines.length);
  const first = Array.from({ length }, (_, i) => i).find((i) => freshLines[i] !== committedLines[i]);
  const stale = first === undefined ? undefined
    : `API.md is stale from line ${first + 1}: committed "${committedLines[first]}", generated "${freshLines[first]}"; run npm run docgen and commit API.md`;
  expect(stale).toBeUndefined();
});
