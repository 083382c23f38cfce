#!/usr/bin/env node
// Adds to package-lock.json the platform-specific optional packages (other OSes and CPUs) that npm
// leaves out when the registry it talks to does not serve them, as our machines' mirror does not.
// Without those entries `npm ci` refuses the lock file everywhere. Each entry gets the os/cpu/libc
// its name declares (`<pkg>-<os>-<cpu>[-<abi>]`), so npm skips it on other platforms, as usual.
// Run after any `npm install` that changed the lock: `node .ci/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const OSES = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
let added = 0;

for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${location}/${key}`]) continue;
    const parts = name.split('/').pop().split('-');
    const osIndex = parts.findIndex((part) => OSES.includes(part));
    if (osIndex < 0 || osIndex + 1 >= parts.length) {
      throw new Error(`cannot tell the platform of ${name} (optional dependency of ${location || 'the root'})`);
    }
    const [os, cpu, abi] = parts.slice(osIndex);
    const platform = { os: [os], cpu: [cpu] };
    if (abi?.startsWith('gnu')) platform.libc = ['glibc'];
    if (abi?.startsWith('musl')) platform.libc = ['musl'];
    lock.packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
