// `npm start`: build the example modules and the console if needed, prepare the database (migrations, first
// accounts), then serve the console. Ctrl-C (or SIGTERM) drains and stops everything it started and exits 0; a
// second one stops at once (server/bootstrap/shutdown.ts does both inside the console).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModules } from './build-modules.mjs';
import { prepareDemoHsm } from './demo-hsm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// NEXT_MANUAL_SIG_HANDLE: Next's own handler exits once its HTTP server has closed, before the embedded host and
// its cells have drained; the console's handler (server/bootstrap/shutdown.ts) does the whole stop instead.
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_MANUAL_SIG_HANDLE: '1', PORT: process.env.PORT ?? '3000' };
const SERVER_NODE_FLAGS = ['--conditions=react-server', '--import', 'tsx'];
prepareDemoHsm(env, root);

function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function consoleBuildIsStale() {
  const buildId = path.join(root, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return ['app', 'components', 'server'].some((dir) => newestSourceMtime(path.join(root, dir)) > built);
}

function runOrExit(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`hotplane: ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

// Process cells and probes run module code inside bubblewrap (server/host/sandbox.ts). Installed here when missing
// and we may; otherwise demo mode runs them unsandboxed (the console says so on every page) and HOTPLANE_DEMO=0
// refuses them unless HOTPLANE_ALLOW_UNSANDBOXED=1.
function ensureBubblewrap() {
  const bwrap = env.HOTPLANE_BWRAP ?? '/usr/bin/bwrap';
  const works = () => spawnSync(bwrap, ['--version'], { stdio: 'ignore' }).status === 0;
  if (works()) return;
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (process.getuid?.() === 0 && !env.HOTPLANE_BWRAP) {
    console.log('hotplane: bubblewrap is missing; installing it (apt-get install -y bubblewrap) to sandbox process cells…');
    if (apt(['install', '-y', 'bubblewrap']) || (apt(['update']) && apt(['install', '-y', 'bubblewrap']))) {
      if (works()) return;
    }
  }
  const consequence = env.HOTPLANE_DEMO === '0' && env.HOTPLANE_ALLOW_UNSANDBOXED !== '1'
    ? 'process cells will be refused (HOTPLANE_DEMO=0); set HOTPLANE_ALLOW_UNSANDBOXED=1 to run them unsandboxed anyway'
    : 'process cells will run NOT SANDBOXED: a module can read everything this user can';
  console.warn(`hotplane: WARNING: bubblewrap not found at ${bwrap} (install it with: sudo apt-get install -y bubblewrap); ${consequence}`);
}

ensureBubblewrap();
await buildModules({ quiet: true });
if (consoleBuildIsStale()) {
  console.log('hotplane: building the console (next build)…');
  runOrExit(process.execPath, ['node_modules/next/dist/bin/next', 'build'], 'next build');
}
runOrExit(process.execPath, [...SERVER_NODE_FLAGS, 'server/bootstrap/main.ts'], 'bootstrap');

const children = [];
function start(name, args) {
  // Its own process group, so a terminal's Ctrl-C reaches this script alone and the console sees each signal once.
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit', detached: true });
  child.on('exit', (code, signal) => {
    console.log(`hotplane: ${name} exited (${signal ?? code})`);
    for (const other of children) if (other !== child) other.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
  children.push(child);
}

start('console', ['node_modules/next/dist/bin/next', 'start', '-p', env.PORT]);
console.log(`hotplane: console on http://localhost:${env.PORT}`);

// The first signal asks the console to drain; a second is passed on too, and the console then stops at once.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
  });
}
