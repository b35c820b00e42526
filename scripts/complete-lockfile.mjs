// The registry this project installs from serves platform packages only for the platforms it builds on, so
// `npm install` leaves the other platforms' optional binaries (e.g. @next/swc-darwin-arm64) out of
// package-lock.json — and `npm ci` then refuses the lock as out of sync. This script adds those entries back,
// marked optional with the os/cpu their names state, so `npm ci` accepts the lock and skips them as foreign.
// Run it after any `npm install` that changes the lock: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const lockPath = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = { 'arm64': 'arm64', 'x64': 'x64', 'ia32': 'ia32', 'arm': 'arm', 'loong64': 'loong64', 'ppc64': 'ppc64', 'riscv64': 'riscv64', 's390x': 's390x', 'wasm32': 'wasm32' };

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => p in CPU);
  const libc = parts.some((p) => p.startsWith('musl')) ? 'musl' : parts.some((p) => p.startsWith('gnu')) ? 'glibc' : undefined;
  return os && cpu ? { os: [os], cpu: [CPU[cpu]], ...(libc ? { libc: [libc] } : {}) } : null;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(spec)) continue;
    packages[`node_modules/${name}`] = { version: spec, optional: true, ...platform };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} foreign-platform optional entr${added === 1 ? 'y' : 'ies'}`);
