// A console on the production build, as `npm start` runs it in demo mode, on a fresh data folder: for the browser
// bench. It reuses scripts/e2e-server.mjs (bootstrap, then `next start`), so the bench sees what the e2e specs see.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SOURCE_DIRS = ['app', 'components', 'server', 'proxy.ts', 'next.config.ts'];

function newestSource(root: string): number {
  let newest = 0;
  const visit = (entry: string) => {
    if (!existsSync(entry)) return;
    const stat = statSync(entry);
    if (stat.isDirectory()) {
      for (const name of readdirSync(entry)) if (!name.startsWith('.') && name !== 'node_modules') visit(path.join(entry, name));
    } else if (/\.(tsx?|css|mjs)$/.test(entry) && !/\.test\.tsx?$/.test(entry)) newest = Math.max(newest, stat.mtimeMs);
  };
  for (const dir of SOURCE_DIRS) visit(path.join(root, dir));
  return newest;
}

/** 'missing', 'stale' (a source is newer than the build) or 'fresh'. */
export function productionBuildState(root: string): 'missing' | 'stale' | 'fresh' {
  const buildId = path.join(root, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return 'missing';
  return statSync(buildId).mtimeMs < newestSource(root) ? 'stale' : 'fresh';
}

export function runProductionBuild(root: string): void {
  const result = spawnSync(process.execPath, ['node_modules/next/dist/bin/next', 'build'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) throw new Error(`next build failed (exit ${result.status ?? result.signal})`);
}

export interface ProductionConsole {
  origin: string;
  /** The embedded host's invoke API, where the demo traffic goes. */
  invokeUrl: string;
  stop(): Promise<void>;
}

export async function startProductionConsole(root: string, port: number): Promise<ProductionConsole> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-browser-bench-'));
  const hostPort = port + 4000;
  const child: ChildProcess = spawn(process.execPath, ['scripts/e2e-server.mjs', String(port)], {
    cwd: root,
    env: { ...process.env, E2E_DATA_DIR: dataDir, HOTPLANE_HOST_PORT: String(hostPort), HOTPLANE_FLEET_PORT: String(port + 4100) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000))]);
    for (const dir of [dataDir, `${dataDir}-host`]) rmSync(dir, { recursive: true, force: true });
  };
  const origin = `http://localhost:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the console exited (${child.exitCode}) while starting:\n${output}`);
    const up = await fetch(`${origin}/login`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (up) return { origin, invokeUrl: `http://127.0.0.1:${hostPort}`, stop };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`the console did not answer on ${origin} within 3 minutes:\n${output}`);
}
