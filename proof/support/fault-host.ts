import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostEvent, VersionStatus } from '../../server/protocol';
import { exited, freePort } from '../../server/testing/processes';

// The runtime host of the fault proof: `hotplane host` (server/host/main.ts) in a process of its own, on a data
// folder that outlives it, so it can be killed with SIGKILL and started again on the same state.

export interface HostStatus {
  generation: number;
  versions: VersionStatus[];
  events: HostEvent[];
}

export interface FaultHost {
  readonly port: number;
  readonly dataDir: string;
  readonly invokeUrl: string;
  /** The host's pid now (it changes with restart()). */
  readonly pid: number;
  /** Whether the host process started last is still running. */
  readonly alive: boolean;
  status(): Promise<HostStatus>;
  /** POSTs to the invoke API pinned to one version (admin token), e.g. to read a ledger's total. */
  pinned(version: string, body: string): Promise<{ status: number; text: string }>;
  /** SIGKILL: no drain, no goodbye. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the host again on the same data folder and port; resolves once its invoke API accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** The host's last stderr lines (its own log). */
  log(): string;
}

export interface FaultHostOptions {
  root: string;
  dataDir: string;
  controlPlane: string;
  consoleCaFile: string;
  hostId: string;
  joinToken: string;
  cellMemoryMiB: number;
  cellOpenFiles: number;
}

export async function startFaultHost(options: FaultHostOptions): Promise<FaultHost> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  let child: ChildProcess;

  async function launch() {
    child = spawn(process.execPath, [
      '--conditions=react-server', '--import', 'tsx', 'server/host/main.ts',
      '--control-plane', options.controlPlane, '--console-ca', options.consoleCaFile, '--host-id', options.hostId,
      '--data', options.dataDir, '--port', String(port), '--access-log', 'off',
      '--cell-memory-mib', String(options.cellMemoryMiB), '--cell-open-files', String(options.cellOpenFiles),
      // One process: the proof's figures (one cell per version, its replacements) stay comparable with earlier runs.
      '--workers', '1',
    ], { cwd: options.root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOTPLANE_JOIN_TOKEN: options.joinToken } });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      lines.push(...text.split('\n').filter(Boolean));
      if (lines.length > 400) lines.splice(0, lines.length - 400);
    });
    for (const deadline = Date.now() + 30_000; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (child.exitCode !== null) throw new Error(`the host exited (${child.exitCode}): ${lines.slice(-10).join('\n')}`);
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the host did not listen within 30 s: ${lines.slice(-10).join('\n')}`);
      }
    }
  }

  await launch();
  const adminToken = (await readFile(path.join(options.dataDir, 'admin-token'), 'utf8')).trim();
  const authorization = `Bearer ${adminToken}`;
  return {
    port,
    dataDir: options.dataDir,
    invokeUrl: `${base}/v1/invoke/ledger`,
    get pid() {
      return child.pid!;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async status() {
      const response = await fetch(`${base}/v1/status`, { headers: { authorization } });
      if (!response.ok) throw new Error(`host status: HTTP ${response.status}`);
      return (await response.json()) as HostStatus;
    },
    async pinned(version, body) {
      const response = await fetch(`${base}/v1/invoke/ledger`, { method: 'POST', headers: { authorization, 'x-hotplane-pin': version }, body });
      return { status: response.status, text: await response.text() };
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: launch,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    },
    log: () => lines.join('\n'),
  };
}
