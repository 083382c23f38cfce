import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
// Bundles keep @aws-sdk/* external (the Lambda runtime provides it); the rest is inlined.
const MAX_BUNDLE_BYTES = 1_500_000;

describe.each(['autoscaler', 'drain', 'webhook', 'registration'])('the %s bundle', (name) => {
  const bundle = path.join(ROOT, 'assets', name, 'index.js');

  test('exists, within its size budget, built by `npm run build`', () => {
    expect(fs.existsSync(bundle)).toBe(true);
    expect(fs.statSync(bundle).size).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  test('loads with plain node and exposes a handler function', () => {
    const output = execFileSync(process.execPath, ['-e', `const m = require(${JSON.stringify(bundle)}); process.stdout.write(typeof m.handler);`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      encoding: 'utf8',
    });
    expect(output).toBe('function');
  });
});

test('the npm package ships the compiled library, the bundles, the bootstrap script and the jsii assembly, and no tests', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
  const files: string[] = pack.files.map((f: { path: string }) => f.path);
  expect(files).toEqual(expect.arrayContaining([
    'assets/autoscaler/index.js',
    'assets/drain/index.js',
    'assets/webhook/index.js',
    'assets/registration/index.js',
    'lib/index.js',
    'lib/index.d.ts',
    'lib/bootstrap/worker-bootstrap.sh',
    'lambda/drain/schedule.js',
    'lambda/webhook/config.js',
    '.jsii',
    'API.md',
    'README.md',
    'package.json',
  ]));
  expect(files.filter((f) => /^(test|examples|bench|\.ci)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

// npm runs these on the user's machine at install (and flags packages that have them); `npm run build`
// bundles the assets before packing instead (npm test, .ci/package).
test('the published package.json runs no lifecycle script on install', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-'));
  try {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }));
    const published = JSON.parse(execFileSync('tar', ['-xzOf', path.join(dir, pack.filename), 'package/package.json'], { encoding: 'utf8' }));
    expect(Object.keys(published.scripts ?? {}).filter((name) => /^(pre|post)?(install|prepare|publish)$|^prepack$|^postpack$/.test(name))).toEqual([]);
    expect(published.peerDependencies).toEqual({ 'aws-cdk-lib': expect.stringMatching(/^\^2\./), 'constructs': '^10.0.0' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
