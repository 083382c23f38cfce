/**
 * Stops the moto server global-setup.ts started: SIGTERM to its process group (by the PID we
 * spawned, never by name), SIGKILL if it has not exited after 5 s, then removes the state folder.
 * Set INTEG_KEEP_STATE=1 to keep the folder (moto.log) for debugging.
 */
import * as fs from 'node:fs';
import type { MotoHandle } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const handle: MotoHandle | undefined = globalThis.__integMoto;
  if (handle === undefined) return;
  globalThis.__integMoto = undefined;
  const { child, stateDir } = handle;
  const pid = child.pid;
  if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      signalGroup(pid, 'SIGKILL');
      await exited;
    }
  }
  if (process.env.INTEG_KEEP_STATE !== '1') fs.rmSync(stateDir, { recursive: true, force: true });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
