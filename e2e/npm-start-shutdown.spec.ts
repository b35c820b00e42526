import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

// `npm start` (scripts/start.mjs) as an operator runs it, on the production build the e2e run made, then SIGTERM as
// systemd or `kill` sends it: the console drains and stops its embedded host and every process cell, and the whole
// tree exits 0. (It once closed the console's port and left next-server, the host and its cells serving.)
// This spec runs its own console, on its own ports and data folder.

const PORT = Number(process.env.E2E_PORT ?? 3100) + 70;
const DATA_DIR = path.resolve('tmp', 'e2e-npm-start-data');

interface ProcessEntry {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

function processTable(): ProcessEntry[] {
  const table: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name in parentheses may itself hold spaces or parentheses: the fields follow the last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      table.push({ pid: Number(name), ppid: Number(ppid), state, command });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return table;
}

function descendants(root: number): ProcessEntry[] {
  const table = processTable();
  const found: ProcessEntry[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const children = table.filter((p) => frontier.includes(p.ppid));
    found.push(...children);
    frontier = children.map((p) => p.pid);
  }
  return found;
}

/** Still running: present in /proc and not a zombie (in a container nothing may reap a reparented zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

let started: ChildProcess | undefined;
let tree: ProcessEntry[] = [];

test.afterAll(() => {
  for (const entry of tree) if (running(entry.pid)) process.kill(entry.pid, 'SIGKILL');
  if (started?.pid && running(started.pid)) process.kill(started.pid, 'SIGKILL');
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
    .poll(() => descendants(started!.pid!).some((p) => p.command.includes('cell-child')), { timeout: 90_000, intervals: [500], message: 'a process cell in the tree' })
    .toBe(true);
  tree = descendants(started.pid!);
  const roles = ['next-server or next start', 'the embedded host', 'a process cell'];
  const found = [tree.some((p) => /next/.test(p.command)), tree.some((p) => /host\/main|hotplane host| host /.test(p.command)), tree.some((p) => p.command.includes('cell-child'))];
  expect(found, `${roles.join(', ')} among ${JSON.stringify(tree.map((p) => p.command.slice(0, 120)))}`).toEqual([true, true, true]);

  const signalledAt = Date.now();
  process.kill(started.pid!, 'SIGTERM');
  const { code, signal } = await exited;
  const seconds = (Date.now() - signalledAt) / 1000;
  expect({ code, signal }, output.slice(-2000)).toEqual({ code: 0, signal: null });
  // Within the drain deadline (HOTPLANE_SHUTDOWN_DEADLINE_MS, 40 s by default).
  expect(seconds).toBeLessThan(40);
  await expect
    .poll(() => tree.filter((p) => running(p.pid)).map((p) => `${p.pid} ${p.command.slice(0, 120)}`), { timeout: 10_000, message: 'every process of the tree gone' })
    .toEqual([]);
  await expect.poll(() => fetch(`http://localhost:${PORT}/login`).then(() => 'answering').catch(() => 'closed'), { timeout: 5_000 }).toBe('closed');
});
