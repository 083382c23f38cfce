/**
 * A user's CDK app, built the way `cdk init app --language typescript` sets one up, with the packed
 * tarball installed from the registry-style tarball (not a path link), and the README's TypeScript
 * blocks as its code. Used by install-tarball.test.ts.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);
export const ROOT = path.join(__dirname, '..', '..');

/** cdk-nag v2 is installed under an alias, so one app can hold v2 and v3 side by side. */
export const NAG_V2 = 'cdk-nag-v2@npm:cdk-nag@2.38.2';
export const NAG_V3 = 'cdk-nag@3.0.2';

export interface ReadmeBlock {
  /** Module name in the app, `readme-<n>`. */
  readonly name: string;
  readonly kind: 'app' | 'jest' | 'nag-v2' | 'nag-v3';
  readonly code: string;
  /** Names the block leaves to its surroundings with `declare const`. */
  readonly declared: string[];
}

/** Every ```ts block of the README, classified by what it needs to run. */
export function readmeBlocks(readme: string): ReadmeBlock[] {
  // Every TypeScript block is fenced as ts, so none escapes the gate under another name.
  const otherFence = /^```(typescript|tsx|mts|cts)\b/m.exec(readme);
  if (otherFence) throw new Error(`README.md fences TypeScript as "${otherFence[1]}": use \`\`\`ts so the consumer-app gate checks it`);
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  return blocks.map((code, i) => {
    const declared = [...code.matchAll(/^declare const (\w+)\s*:/gm)].map((m) => m[1]);
    const kind = code.includes("from 'aws-cdk-lib/assertions'") ? 'jest'
      : code.includes("from 'cdk-nag'") ? (/\bValidations\.of\(/.test(code) ? 'nag-v3' : 'nag-v2')
      : 'app';
    return { name: `readme-${i + 1}`, kind, code, declared };
  });
}

/** Child processes run without AWS credentials, as on a laptop that never logged in. */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) =>
    !key.startsWith('AWS_') && !key.startsWith('CDK_') && !key.startsWith('JEST_') && key !== 'NODE_OPTIONS'));
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', CDK_DISABLE_VERSION_CHECK: '1' };
}

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and returns its outcome instead of throwing on a non-zero exit. */
export async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...offlineEnv(), ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

export async function npmInstall(dir: string, specs: string[]): Promise<void> {
  const outcome = await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error', ...specs], dir);
  if (outcome.code !== 0) throw new Error(`npm install ${specs.join(' ')} failed in ${dir}:\n${outcome.stderr}`);
}

const HARNESS_STACK = (name: string) => name.replace('readme-', 'Readme');
/** Construct paths of what the harness adds around a block (so not the pool's). */
export const HARNESS_PATH = /^\/?Readme\d+\/Vpc(\/|$)/;

/**
 * Writes the app's sources: one module per README block, with every `declare const` supplied by a
 * harness (`app` with the recommended flags; `stack` with an env and `vpc` per block), runners that
 * synthesize the app blocks alone or with a cdk-nag block, and the jest blocks as tests.
 */
export function writeSources(dir: string, blocks: ReadmeBlock[]): void {
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  write('app.ts', [
    "import { App } from 'aws-cdk-lib';",
    "import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';",
    '// What `cdk init` writes into cdk.json, which the CLI hands to the app.',
    'export const app = new App({ context: { ...CURRENTLY_RECOMMENDED_FLAGS }, outdir: process.env.CONSUMER_OUTDIR });',
    '',
  ].join('\n'));
  for (const block of blocks) {
    const imports: string[] = [];
    for (const name of block.declared) {
      if (name === 'app') {
        imports.push("import { app } from './app';");
      } else if (name === 'stack' || name === 'vpc') {
        imports.push(`import { ${name} } from './${block.name}-harness';`);
      } else {
        throw new Error(`README block ${block.name} declares "${name}", which the consumer harness does not supply`);
      }
    }
    if (block.declared.some((name) => name === 'stack' || name === 'vpc')) {
      write(`${block.name}-harness.ts`, [
        "import { Stack } from 'aws-cdk-lib';",
        "import * as ec2 from 'aws-cdk-lib/aws-ec2';",
        "import { app } from './app';",
        `export const stack = new Stack(app, '${HARNESS_STACK(block.name)}', { env: { account: '123456789012', region: 'eu-west-1' } });`,
        "export const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });",
        '',
      ].join('\n'));
    }
    let code = block.code.replace(/^declare const \w+\s*:.*$/gm, '');
    if (block.kind === 'nag-v2') code = code.replace("from 'cdk-nag'", "from 'cdk-nag-v2'");
    write(block.kind === 'jest' ? `test/${block.name}.test.ts` : `${block.name}.ts`, [...imports, code].join('\n'));
  }
  const appBlocks = blocks.filter((b) => b.kind === 'app').map((b) => `import './${b.name}';`);
  write('synth.ts', [
    "import { app } from './app';",
    ...appBlocks,
    'const assembly = app.synth();',
    'process.stdout.write(JSON.stringify({',
    '  directory: assembly.directory,',
    '  stacks: assembly.stacks.map((s) => ({ name: s.stackName, types: Object.values<any>(s.template.Resources ?? {}).map((r) => r.Type) })),',
    '  // What the pool renders: each resource with its type and the names of its attributes and properties.',
    '  pool: assembly.stacks.flatMap((s) => Object.entries<any>(s.template.Resources ?? {})',
    "    .filter(([id]) => id.startsWith('Pool')) // the README's pool has the id 'Pool'",
    "    .map(([id, r]) => `${id} ${r.Type} ${Object.keys(r).filter((k) => k !== 'Metadata').sort().join(',')} ${Object.keys(r.Properties ?? {}).sort().join(',')}`)),",
    '}));',
    '',
  ].join('\n'));
  for (const block of blocks.filter((b) => b.kind === 'nag-v2' || b.kind === 'nag-v3')) {
    write(`${block.kind}.ts`, [
      "import * as fs from 'fs';",
      "import * as path from 'path';",
      "import { app } from './app';",
      ...appBlocks,
      `import './${block.name}';`,
      'try {',
      '  app.synth();',
      '} catch {',
      '  // Findings fail the synth; they are read below.',
      '}',
      block.kind === 'nag-v2'
        ? [
          '// cdk-nag v2 reports findings as annotations on the offending constructs.',
          'const findings = app.node.findAll().flatMap((c) => c.node.metadata',
          "  .filter((m) => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && /^AwsSolutions-/.test(String(m.data)))",
          "  .map((m) => `${c.node.path} ${String(m.data).split(': ')[0]}`));",
        ].join('\n')
        : [
          '// cdk-nag v3 reports findings in the validation report.',
          "const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));",
          'const findings: string[] = report.pluginReports.flatMap((p: any) => p.violations.flatMap((v: any) =>',
          '  v.violatingConstructs.map((c: any) => `${c.constructPath} ${v.ruleName}`)));',
        ].join('\n'),
      'process.stdout.write(JSON.stringify(findings));',
      '',
    ].join('\n'));
  }
}

/** The compiler options of a `cdk init` TypeScript app, emitting to build/ so the app can run. */
export function writeTsconfig(dir: string, file: string, files: string[]): void {
  fs.writeFileSync(path.join(dir, file), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['es2022'],
      strict: true, noImplicitAny: true, strictNullChecks: true, noImplicitThis: true, alwaysStrict: true,
      noUnusedLocals: false, noUnusedParameters: false, noImplicitReturns: true, noFallthroughCasesInSwitch: false,
      experimentalDecorators: true, strictPropertyInitialization: false, skipLibCheck: true, isolatedModules: true,
      typeRoots: [path.join(dir, 'node_modules', '@types'), path.join(ROOT, 'node_modules', '@types')],
      types: ['jest', 'node'],
      outDir: 'build', rootDir: '.',
    },
    files,
  }, null, 2));
}

/**
 * The library's declarations as sources, so that they are type-checked against the installed
 * aws-cdk-lib even though apps use skipLibCheck (which would hide a type the floor lacks).
 */
export function copyDeclarations(dir: string): string {
  const pkg = path.join(dir, 'node_modules', 'cdk-ec2-workerpool');
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(pkg, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.d.ts')) {
        const target = path.join('declarations', child.replace(/\.d\.ts$/, '.ts'));
        fs.mkdirSync(path.dirname(path.join(dir, target)), { recursive: true });
        fs.copyFileSync(path.join(pkg, child), path.join(dir, target));
      }
    }
  };
  walk('lib');
  walk('lambda');
  return path.join('declarations', 'lib', 'index.ts');
}
