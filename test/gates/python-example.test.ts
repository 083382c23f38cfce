import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'python', 'app.py');

// The jsii Python runtime is not installable offline, so the example cannot run here. Instead it
// is compiled, and every name it takes from cdk_ec2_workerpool, and every keyword it passes, is
// checked against the Python bindings jsii generates from the current source.
test('the Python example compiles and uses only names the generated Python package has', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pycode-'));
  // Compile into the temp dir, so no __pycache__ lands in the repository.
  execFileSync('python3', ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)',
    EXAMPLE, path.join(out, 'app.pyc')]);
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'jsii-pacmak'), ['--code-only', '--targets', 'python', '-o', out], {
    cwd: ROOT, stdio: 'pipe', env: { ...process.env, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION: '1' },
  });
  const bindings = fs.readFileSync(path.join(out, 'python', 'src', 'cdk_ec2_workerpool', '__init__.py'), 'utf8');
  const example = fs.readFileSync(EXAMPLE, 'utf8');

  const imported = /from cdk_ec2_workerpool import \(([^)]*)\)/.exec(example)![1].split(',').map((n) => n.trim()).filter(Boolean);
  expect(imported.length).toBeGreaterThan(3);
  for (const name of imported) {
    expect(bindings).toMatch(new RegExp(`^class ${name}\\b`, 'm'));
  }
  // snake_case keywords passed to our constructs and structs must be parameters in the bindings.
  const ours = /SpaceliftWorkerPool\(|WorkerPoolCredentials|SpaceliftApiKey|AutoscalingOptions\(|IdleWorkersWindow\(|PoolMonitoringOptions\(/;
  const keywords = example.split('\n')
    .filter((_line, i, lines) => ours.test(lines.slice(Math.max(0, i - 12), i + 1).join('\n')))
    .map((line) => /^\s+([a-z_]+)=/.exec(line)?.[1])
    .filter((k): k is string => k !== undefined && !['max_azs', 'nat_gateways', 'value', 'env'].includes(k));
  expect(keywords).toEqual(expect.arrayContaining(['worker_pool_id', 'spacelift_api_key', 'idle_workers_windows', 'min_idle', 'alarm_topic']));
  for (const keyword of new Set(keywords)) {
    expect(bindings).toContain(`${keyword}: `);
  }
}, 120_000);
