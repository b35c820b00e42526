// The console as the e2e tests see it: a fresh data folder, demo mode with a known password, production build.
// E2E_DATA_DIR picks another folder and E2E_KEEP_DATA=1 keeps it: the restart spec runs a second console this way.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = process.argv[2] ?? '3100';
const E2E_DATA_DIR = path.resolve(root, process.env.E2E_DATA_DIR ?? path.join('tmp', 'e2e-data'));
// The embedded host keeps its own folder beside the console's (HOTPLANE_HOST_DATA_DIR defaults to <data>-host).
if (process.env.E2E_KEEP_DATA !== '1') for (const dir of [E2E_DATA_DIR, `${E2E_DATA_DIR}-host`]) rmSync(dir, { recursive: true, force: true });
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  PORT: port,
  HOTPLANE_DATA_DIR: E2E_DATA_DIR,
  HOTPLANE_DEMO: '1',
  HOTPLANE_DEMO_PASSWORD: process.env.HOTPLANE_DEMO_PASSWORD ?? 'e2e-demo-password',
  HOTPLANE_PUBLIC_ORIGIN: `http://localhost:${port}`,
  // Its own embedded-host and fleet ports, so two e2e runs on different console ports never collide.
  HOTPLANE_HOST_PORT: process.env.HOTPLANE_HOST_PORT ?? String(Number(port) + 4000),
  HOTPLANE_FLEET_PORT: process.env.HOTPLANE_FLEET_PORT ?? String(Number(port) + 4100),
};
const boot = spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'server/bootstrap/main.ts'], { cwd: root, env, stdio: 'inherit' });
if (boot.status !== 0) process.exit(boot.status ?? 1);
const server = spawn(process.execPath, ['node_modules/next/dist/bin/next', 'start', '-p', port], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill('SIGTERM'));
server.on('exit', (code) => process.exit(code ?? 0));
