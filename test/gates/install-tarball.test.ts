/**
 * The consumer-app gate: what a user does with the published package, on the oldest and the newest
 * aws-cdk-lib the peer range allows. Pack the tarball, install it into a fresh app, and there
 * - type-check (tsc, as `cdk init` apps do) every TypeScript block of README.md, read now so the README
 *   cannot drift, and the library's own declarations against that aws-cdk-lib;
 * - synthesize the README's app blocks with the recommended feature flags, printing nothing;
 * - run the README's jest test the way a user would, without AWS credentials and printing nothing;
 * - run cdk-nag v2 (Aspects) and v3 (Validations): nothing unacknowledged on the pool.
 * Needs the npm registry (or a warm npm cache) and `npm run build` before it (npm test does both).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  copyDeclarations, exec, HARNESS_PATH, NAG_V2, NAG_V3, npmInstall, type Outcome, readmeBlocks, ROOT, writeSources, writeTsconfig,
} from './consumer-project';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const floor = (name: string): string => pkg.peerDependencies[name].replace(/^\^/, '');
// cdk-nag v2 needs constructs ^10.5.1, newer than aws-cdk-lib's own floor; the floor app upgrades
// constructs for its cdk-nag v2 run only, after everything else ran on the constructs floor.
const NAG_V2_CONSTRUCTS = '10.5.1';

interface Target {
  readonly lib: string;
  readonly constructs: string;
  /** cdk-nag v3 declares aws-cdk-lib ^2.257.0, so it only runs on the newest. */
  readonly nagV3: boolean;
}
const TARGETS: Target[] = [
  { lib: floor('aws-cdk-lib'), constructs: floor('constructs'), nagV3: false },
  { lib: pkg.devDependencies['aws-cdk-lib'], constructs: pkg.devDependencies.constructs, nagV3: true },
];

interface Result {
  dir: string;
  tsc: Outcome;
  synth: Outcome;
  jest: Outcome;
  nag: { [kind: string]: Outcome };
}

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const blocks = readmeBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-'));
const results = new Map<Target, Result>();

async function consumerApp(target: Target, tarball: string): Promise<Result> {
  const dir = path.join(work, `aws-cdk-lib-${target.lib}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.1.0', private: true }));
  await npmInstall(dir, [tarball, `aws-cdk-lib@${target.lib}`, `constructs@${target.constructs}`, ...(target.nagV3 ? [NAG_V2, NAG_V3] : [])]);
  writeSources(dir, blocks);
  const sources = (kinds: string[]) => blocks.filter((b) => kinds.includes(b.kind)).map((b) => b.kind === 'jest' ? `test/${b.name}.test.ts` : `${b.name}.ts`);
  const nagKinds = target.nagV3 ? ['nag-v2', 'nag-v3'] : [];
  writeTsconfig(dir, 'tsconfig.json', ['app.ts', 'synth.ts', copyDeclarations(dir), ...sources(['app', 'jest', ...nagKinds]), ...nagKinds.map((k) => `${k}.ts`)]);
  fs.writeFileSync(path.join(dir, 'jest.config.json'), JSON.stringify({
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.tsx?$': [require.resolve('@swc/jest'), {}] },
    // What `cdk init` of that aws-cdk-lib writes; older releases have no jest-autoclean.
    ...(fs.existsSync(path.join(dir, 'node_modules', 'aws-cdk-lib', 'testhelpers', 'jest-autoclean.js'))
      ? { setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'] } : {}),
  }));

  const tsc = await exec(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
  const synth = await exec(process.execPath, ['build/synth.js'], dir, { CONSUMER_OUTDIR: path.join(dir, 'cdk.out') });
  const jest = await exec(process.execPath, [JEST, '--config', 'jest.config.json', '--ci', '--colors=false'], dir);
  const nag: Result['nag'] = {};
  if (!target.nagV3) {
    await npmInstall(dir, [NAG_V2, `constructs@${NAG_V2_CONSTRUCTS}`]);
    writeTsconfig(dir, 'tsconfig.nag.json', [...sources(['nag-v2']), 'nag-v2.ts']);
    nag.tsc = await exec(process.execPath, [TSC, '-p', 'tsconfig.nag.json'], dir);
  }
  for (const kind of ['nag-v2', ...(target.nagV3 ? ['nag-v3'] : [])]) {
    nag[kind] = await exec(process.execPath, [`build/${kind}.js`], dir, { CONSUMER_OUTDIR: path.join(dir, `cdk.out.${kind}`) });
  }
  return { dir, tsc, synth, jest, nag };
}

beforeAll(async () => {
  const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = path.join(work, JSON.parse(packed.stdout)[0].filename);
  // Both apps at once: the installs wait on the network, the rest shares the two cores.
  // allSettled: when one app fails, the other's child processes finish before afterAll removes the folder.
  const built = await Promise.allSettled(TARGETS.map((target) => consumerApp(target, tarball)));
  const failed = built.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  TARGETS.forEach((target, i) => results.set(target, (built[i] as PromiseFulfilledResult<Result>).value));
}, 600_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Asserts a clean exit, showing the command's output when it failed. */
function expectSuccess(outcome: Outcome, quiet = false): void {
  const summary = (o: Outcome) => `exit ${o.code}${o.code !== 0 || (quiet && o.stderr) ? `\n${o.stdout.slice(0, 5000)}\n${o.stderr.slice(0, 5000)}` : ''}`;
  expect(summary(outcome)).toBe('exit 0');
}

test('the README has the blocks the gate runs', () => {
  expect(blocks.map((b) => b.kind)).toEqual(expect.arrayContaining(['app', 'jest', 'nag-v2', 'nag-v3']));
});

// An option the floor does not know would be dropped silently (a prop of an L2 construct), so the
// pool must render the same resources, with the same properties, on both.
test('the pool renders the same resources and properties on the floor as on the newest aws-cdk-lib', () => {
  const [floorPool, newestPool] = TARGETS.map((target) => JSON.parse(results.get(target)!.synth.stdout || '{}').pool as string[]);
  expect(newestPool.length).toBeGreaterThan(20);
  expect(floorPool).toEqual(newestPool);
});

describe.each(TARGETS)('a fresh app on aws-cdk-lib $lib', (target) => {
  const result = () => results.get(target)!;

  test('has the tarball installed (not linked) next to exactly that aws-cdk-lib', () => {
    const installed = path.join(result().dir, 'node_modules', 'cdk-ec2-workerpool');
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(result().dir, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8')).version).toBe(target.lib);
  });

  test('type-checks the README blocks and the library declarations with tsc', () => {
    expectSuccess(result().tsc);
    expect(result().tsc.stdout).toBe('');
  });

  test('synthesizes the README app blocks with the recommended flags, printing nothing', () => {
    const { synth } = result();
    expectSuccess(synth, true);
    const { directory, stacks } = JSON.parse(synth.stdout);
    expect(stacks.flatMap((s: { types: string[] }) => s.types)).toEqual(expect.arrayContaining([
      'AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::LifecycleHook', 'AWS::Lambda::Function', 'AWS::SecretsManager::Secret',
    ]));
    // Both handler bundles were found inside the installed package and staged as assets.
    const staged = fs.readdirSync(directory).filter((d) => d.startsWith('asset.'))
      .map((d) => path.join(directory, d, 'index.js')).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
    for (const handler of ['autoscaler', 'drain']) {
      const bundle = fs.readFileSync(path.join(result().dir, 'node_modules', 'cdk-ec2-workerpool', 'assets', handler, 'index.js'), 'utf8');
      expect({ handler, staged: staged.includes(bundle) }).toEqual({ handler, staged: true });
    }
  });

  test('passes the README jest test without AWS credentials, printing nothing from the test', () => {
    const { jest } = result();
    expectSuccess(jest);
    expect(jest.stderr).toMatch(/Tests:\s+1 passed/);
    expect(jest.stderr).not.toMatch(/console\.(error|warn|log)|ERROR|WARNING/);
  });

  test('cdk-nag v2 (Aspects) finds nothing unacknowledged on the pool', () => {
    const { nag } = result();
    if (nag.tsc) expectSuccess(nag.tsc);
    expectSuccess(nag['nag-v2']);
    const findings: string[] = JSON.parse(nag['nag-v2'].stdout);
    expect(findings.filter((f) => !HARNESS_PATH.test(f))).toEqual([]);
    // cdk-nag did run: the harness's bare VPC has no flow logs.
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^\/?Readme\d+\/Vpc\/Resource AwsSolutions-VPC7$/)]));
  });

  // cdk-nag v3.0.2 declares aws-cdk-lib ^2.257.0, so it runs on the newest only; the floor has no v3 to run.
  if (!target.nagV3) return;
  test('cdk-nag v3 (Validations) finds nothing unacknowledged on the pool', () => {
    const { nag } = result();
    expectSuccess(nag['nag-v3']);
    const findings: string[] = JSON.parse(nag['nag-v3'].stdout);
    expect(findings.filter((f) => !HARNESS_PATH.test(f))).toEqual([]);
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^Readme\d+\/Vpc\/Resource AwsSolutions-VPC7$/)]));
  });
});
