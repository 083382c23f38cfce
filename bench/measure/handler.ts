/** §4: the handler's tick against in-memory fakes (bench/handler-bench.ts). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TickMeasurement } from '../handler-bench';
import { ROOT } from '../suite';

/** Runs bench/handler-bench.ts in a fresh process, so its memory figures are not the sweep's. */
export function measureHandlerInChild(): TickMeasurement[] {
  const out = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'bench', 'handler-bench.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`handler benchmark failed: ${out.stderr}`);
  return out.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as TickMeasurement);
}
