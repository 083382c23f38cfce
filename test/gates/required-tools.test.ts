import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requireAptTool, requirePythonTool } from '../support/tools';

// A machine without the tools: PATH holds only sh, a few core utilities and the stubs each test writes.

let dir: string;
let bin: string;
const saved = { PATH: process.env.PATH, VENV: process.env.CDK_EC2_WORKERPOOL_TOOLS_VENV };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-'));
  bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['sh', 'mkdir', 'chmod', 'touch', 'dirname']) fs.symlinkSync(`/bin/${tool}`, path.join(bin, tool));
  process.env.PATH = bin;
  process.env.CDK_EC2_WORKERPOOL_TOOLS_VENV = path.join(dir, 'venv');
});

afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.VENV === undefined) delete process.env.CDK_EC2_WORKERPOOL_TOOLS_VENV;
  else process.env.CDK_EC2_WORKERPOOL_TOOLS_VENV = saved.VENV;
  fs.rmSync(dir, { recursive: true, force: true });
});

const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
const calls = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean) : []);

test('a missing shellcheck fails with the exact install command, and the test runs no installer', () => {
  stub('apt-get', `echo "$*" >> '${dir}/apt-get'`);
  expect(() => requireAptTool('shellcheck')).toThrow(
    'shellcheck is required by this test and is not installed. Install it with: apt-get update && apt-get install -y shellcheck');
  expect(calls('apt-get')).toEqual([]);
});

test('a Python tool missing from PATH is installed once, pinned, into the tools venv', () => {
  // python3 -m venv DIR makes DIR/bin/python, whose "-m pip install REQ" installs the command.
  stub('python3', `[[ "$1 $2" == "-m venv" ]] || exit 9
mkdir -p "$3/bin"
printf '#!/bin/bash\\necho "$*" >> %q\\ntouch "$(dirname "$0")/cfn-lint"\\nchmod +x "$(dirname "$0")/cfn-lint"\\n' '${dir}/pip' > "$3/bin/python"
chmod +x "$3/bin/python"`);
  const installed = path.join(dir, 'venv', 'bin', 'cfn-lint');
  expect(requirePythonTool('cfn-lint')).toBe(installed);
  expect(requirePythonTool('cfn-lint')).toBe(installed);
  expect(calls('pip')).toEqual(['-m pip install --quiet cfn-lint==1.51.0']);
});

test('a Python tool that cannot be installed fails with the exact commands and pip\'s own words', () => {
  stub('python3', `[[ "$1 $2" == "-m venv" ]] || exit 9
mkdir -p "$3/bin"
printf '#!/bin/bash\\necho "ERROR: No matching distribution found for \${!#}" >&2\\nexit 1\\n' > "$3/bin/python"
chmod +x "$3/bin/python"`);
  const venv = path.relative(path.join(__dirname, '..', '..'), path.join(dir, 'venv'));
  let message = '';
  try {
    requirePythonTool('moto_server');
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toContain('moto_server is required by this test. It is not on PATH, and installing moto[server]==5.2.1');
  expect(message).toContain('ERROR: No matching distribution found for moto[server]==5.2.1');
  expect(message).toContain(`Install it with (from ${path.resolve(__dirname, '..', '..')}): python3 -m venv ${venv} && ${venv}/bin/python -m pip install 'moto[server]==5.2.1'`);
});
