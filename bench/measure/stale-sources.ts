/**
 * jsii (`npm run compile`) emits .js next to the lambda/ sources that lib/ imports. Under ts-node a .js wins over
 * its .ts, so a stale one would silently benchmark old code (e.g. old defaults): refuse to run instead.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../suite';

export function refuseStaleCompiledSources(): void {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const compiled = path.replace(/\.ts$/, '.js');
        if (existsSync(compiled) && statSync(compiled).mtimeMs < statSync(path).mtimeMs) stale.push(relative(ROOT, compiled));
      }
    }
  };
  walk(join(ROOT, 'lambda'));
  if (stale.length > 0) {
    throw new Error(`compiled files older than their sources would shadow them under ts-node: ${stale.join(', ')}; ` +
      'run `npm run compile` (or delete them) first');
  }
}
