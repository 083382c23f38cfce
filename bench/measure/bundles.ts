/** §5: size and module init time of each Lambda asset. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../suite';

export const INIT_SAMPLES = 7;

export interface BundleMeasurement {
  /** Path relative to the repository root. */
  readonly asset: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Median over `INIT_SAMPLES` fresh processes of `require()` of the bundle, milliseconds. */
  readonly initMs: number;
}

export interface Bundles {
  readonly measured: readonly BundleMeasurement[];
  /** Assets not built (relative paths). */
  readonly missing: readonly string[];
}

/** Measures assets/{autoscaler,drain}/index.js, after `npm run bundle` when `build`. */
export function measureBundles(build: boolean, log: (message: string) => void): Bundles {
  if (build) {
    log('npm run bundle');
    execFileSync('npm', ['run', '--silent', 'bundle'], { cwd: ROOT, stdio: 'inherit' });
  }
  const measured: BundleMeasurement[] = [];
  const missing: string[] = [];
  for (const asset of ['autoscaler', 'drain'].map((name) => join(ROOT, 'assets', name, 'index.js'))) {
    if (!existsSync(asset)) {
      missing.push(relative(ROOT, asset));
      continue;
    }
    const code = readFileSync(asset);
    const times: number[] = [];
    for (let i = 0; i < INIT_SAMPLES; i++) {
      const script = 'const t=process.hrtime.bigint();require(process.argv[1]);' +
        'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';
      const out = spawnSync(process.execPath, ['-e', script, asset], { cwd: ROOT, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`loading ${asset} failed: ${out.stderr}`);
      times.push(Number(out.stdout));
    }
    times.sort((a, b) => a - b);
    const initMs = times[Math.floor(times.length / 2)];
    measured.push({ asset: relative(ROOT, asset), bytes: code.length, gzipBytes: gzipSync(code).length, initMs });
  }
  return { measured, missing };
}
