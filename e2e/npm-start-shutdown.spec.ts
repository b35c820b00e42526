import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { processDescendants, processRunning } from '../server/testing/processes';

// `npm start` (scripts/start.mjs) as an operator runs it, on the production build the e2e run made, then SIGTERM as
// systemd or `kill` sends it: the console drains and stops its embedded host and every process cell, and the whole
// tree exits 0. (It once closed the console's port and left next-server, the host and its cells serving.)
// This spec runs its own console, on its own ports and data folder.

const PORT = Number(process.env.E2E_PORT ?? 3100) + 70;
const DATA_DIR = path.resolve('tmp', 'e2e-npm-start-data');

let started: ChildProcess | undefined;
let tree: [number, string][] = [];

test.afterAll(() => {
  for (const [pid] of tree) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  if (started?.pid && processRunning(started.pid)) process.kill(started.pid, 'SIGKILL');
});

test('SIGTERM to npm start drains and stops the console, its embedded host and every cell, and exits 0', async () => {
  test.setTimeout(240_000);
  for (const dir of [DATA_DIR, `${DATA_DIR}-host`]) rmSync(dir, { recursive: true, force: true });
  started = spawn(process.execPath, ['scripts/start.mjs'], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOTPLANE_DATA_DIR: DATA_DIR,
      HOTPLANE_DEMO: '1',
      HOTPLANE_DEMO_PASSWORD: 'e2e-demo-password',
      HOTPLANE_PUBLIC_ORIGIN: `http://localhost:${PORT}`,
      HOTPLANE_HOST_PORT: String(PORT + 4000),
      HOTPLANE_FLEET_PORT: String(PORT + 4100),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => started!.once('exit', (code, signal) => resolve({ code, signal })));

  // Up: the console answers, and ledger 1.0.0 serves from a process cell of the embedded host.
  await expect.poll(() => fetch(`http://localhost:${PORT}/login`).then((r) => r.status).catch(() => 0), { timeout: 150_000, intervals: [500] }).toBe(200);
  await expect
    .poll(() => [...processDescendants(started!.pid!).values()].some((command) => command.includes('cell-child')), { timeout: 90_000, intervals: [500], message: 'a process cell in the tree' })
    .toBe(true);
  tree = [...processDescendants(started.pid!)];
  const commands = tree.map(([, command]) => command);
  const found = [commands.some((c) => /next/.test(c)), commands.some((c) => /host\/main/.test(c)), commands.some((c) => c.includes('cell-child'))];
  expect(found, `next, the embedded host and a process cell among ${JSON.stringify(commands.map((c) => c.slice(0, 120)))}`).toEqual([true, true, true]);

  const signalledAt = Date.now();
  process.kill(started.pid!, 'SIGTERM');
  const { code, signal } = await exited;
  const seconds = (Date.now() - signalledAt) / 1000;
  expect({ code, signal }, output.slice(-2000)).toEqual({ code: 0, signal: null });
  // Within the drain deadline (HOTPLANE_SHUTDOWN_DEADLINE_MS, 40 s by default).
  expect(seconds).toBeLessThan(40);
  await expect
    .poll(() => tree.filter(([pid]) => processRunning(pid)).map(([pid, command]) => `${pid} ${command.slice(0, 120)}`), { timeout: 10_000, message: 'every process of the tree gone' })
    .toEqual([]);
  await expect.poll(() => fetch(`http://localhost:${PORT}/login`).then(() => 'answering').catch(() => 'closed'), { timeout: 5_000 }).toBe('closed');
});
