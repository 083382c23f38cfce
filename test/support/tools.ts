import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Command-line tools some tests need beyond npm packages. Python tools come from PATH or, when
 * missing there, from a project-local virtual environment that is created on first use with pinned
 * versions from pip's configured indexes. A tool that cannot be had fails only the tests that call
 * for it, with the exact command to run.
 */

const ROOT = path.resolve(__dirname, '..', '..');
/** Overrides the venv folder (project-local `.venv-tools`, git-ignored), for the tests of this module. */
const TOOLS_VENV_ENV = 'CDK_EC2_WORKERPOOL_TOOLS_VENV';

/** The pinned Python tools: the versions the gates were written against. */
export const PYTHON_TOOLS = {
  'cfn-lint': 'cfn-lint==1.51.0',
  'moto_server': 'moto[server]==5.2.1',
} as const;

/** Tools from Debian packages (CI installs them with apt; tests never run apt). */
export const APT_TOOLS = {
  shellcheck: 'shellcheck',
} as const;

/** The path of a Python tool: from PATH, or installed into `.venv-tools` when missing there. */
export function requirePythonTool(command: keyof typeof PYTHON_TOOLS): string {
  const onPath = which(command);
  if (onPath) return onPath;
  const requirement = PYTHON_TOOLS[command];
  const venv = process.env[TOOLS_VENV_ENV] ?? path.join(ROOT, '.venv-tools');
  const python = path.join(venv, 'bin', 'python');
  const installed = path.join(venv, 'bin', command);
  // A stamp per tool, so that a changed pin reinstalls without asking pip each time.
  const stamp = path.join(venv, `.${command}.requirement`);
  if (fs.existsSync(installed) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === requirement) return installed;
  const shown = path.relative(ROOT, venv);
  const how = `python3 -m venv ${shown} && ${shown}/bin/python -m pip install '${requirement}'`;
  try {
    if (!fs.existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { env: process.env, stdio: 'pipe', timeout: 120_000 });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', requirement], { env: process.env, stdio: 'pipe', timeout: 600_000 });
  } catch (error) {
    const output = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n').slice(-3).join('\n');
    throw new Error(`${command} is required by this test. It is not on PATH, and installing ${requirement} into ${shown} failed:\n`
      + `${output}\nInstall it with (from ${ROOT}): ${how}`);
  }
  if (!fs.existsSync(installed)) {
    throw new Error(`${command} is required by this test, and ${requirement} installed no ${command}. Install it with: ${how}`);
  }
  fs.writeFileSync(stamp, requirement);
  return installed;
}

/** The path of a tool from a Debian package, or an error with the exact install command. */
export function requireAptTool(command: keyof typeof APT_TOOLS): string {
  const onPath = which(command);
  if (onPath) return onPath;
  throw new Error(`${command} is required by this test and is not installed. Install it with: `
    + `apt-get update && apt-get install -y ${APT_TOOLS[command]}`);
}

/** Passes process.env explicitly: in a jest test it is the test's copy, which child processes do not see otherwise. */
function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v '${command}'`], { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim() || undefined;
  } catch {
    return undefined;
  }
}
