import { execFileSync } from 'child_process';

/**
 * Returns the path of a command-line tool the tests need, installing it when that is possible
 * without asking (pip with this machine's configured index), or failing with the exact command.
 */
export function requireTool(command: string, install: { pip?: string; apt?: string }): string {
  if (which(command)) return command;
  if (install.pip) {
    try {
      execFileSync('python3', ['-m', 'pip', 'install', '--quiet', install.pip], { stdio: 'inherit', timeout: 300_000 });
    } catch {
      // fall through to the explicit instruction below
    }
    if (which(command)) return command;
  }
  const how = install.pip ? `python3 -m pip install '${install.pip}'` : `apt-get update && apt-get install -y ${install.apt}`;
  throw new Error(`${command} is required by this test and is not installed. Install it with: ${how}`);
}

function which(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
