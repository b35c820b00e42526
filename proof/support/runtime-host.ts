import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirPrivate } from '../../server/secrets-at-rest';
import { exited, freePort } from '../../server/testing/processes';

// A real runtime host (server/host/main.ts, the program `hotplane host` runs) in its own process, registered
// with one console or several (it fails over between them) and serving what their desired state says, with its
// access log in a file. Its join token goes the way an operator's does: a 0600 file, never the command line.

export interface RuntimeHost {
  invokeBase: string;
  port: number;
  accessLogFile: string;
  pid: number;
  /** The host's own /v1/status (generation applied, versions), read with its admin token. */
  status(): Promise<{ hostId: string; generation: number; versions: { version: string; phase: string; weight?: number }[] }>;
  /** SIGTERM: the host drains and flushes its access log before it exits. */
  stop(): Promise<void>;
}

/** Starts the host and waits until `module` answers with something other than "not loaded yet" (404/503). */
export async function startRuntimeHost(options: { consoles: string[]; consoleCaFile: string; joinToken: string; hostId: string; dir: string; module: string; readyWithinMs: number }): Promise<RuntimeHost> {
  const port = await freePort();
  const accessLogFile = path.join(options.dir, 'access.log');
  const dataDir = path.join(options.dir, 'data');
  const joinTokenFile = path.join(options.dir, 'secrets', 'join-token');
  mkdirPrivate(path.dirname(joinTokenFile));
  writeFileSync(joinTokenFile, `${options.joinToken}\n`, { mode: 0o600 });
  const stderr: string[] = [];
  const child = spawn(
    process.execPath,
    [
      '--conditions=react-server', '--import', 'tsx', 'server/host/main.ts',
      '--console', options.consoles.join(','), '--console-ca', options.consoleCaFile, '--join-token-file', joinTokenFile,
      '--host-id', options.hostId, '--data', dataDir, '--port', String(port), '--access-log', accessLogFile,
      // One process, so one access log file (with workers each writes <file>.worker-<slot>) and figures as before.
      '--workers', '1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
  );
  child.stderr?.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  const host: RuntimeHost = {
    invokeBase: `http://127.0.0.1:${port}/v1/invoke/`,
    port,
    accessLogFile,
    pid: child.pid!,
    async status() {
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      const response = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`host ${options.hostId} /v1/status answered ${response.status}`);
      return response.json();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    },
  };
  const deadline = Date.now() + options.readyWithinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the host exited (${child.exitCode}) before serving: ${stderr.join('').slice(-800)}`);
    const status = await fetch(`${host.invokeBase}${options.module}`, { method: 'POST', body: 'ping' }).then((r) => r.status, () => 0);
    if (status !== 0 && status !== 404 && status !== 503) return host;
    await sleep(250);
  }
  await host.stop();
  throw new Error(`the host did not serve ${options.module} within ${options.readyWithinMs / 1000} s: ${stderr.join('').slice(-800)}`);
}

/** Sends bytes exactly as given (no client-side header validation) and returns everything the server answered. */
export function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    // The request says Connection: close, so the host ends the exchange; this only keeps a wedged host from hanging the proof.
    socket.setTimeout(15_000, () => socket.destroy(new Error('the host neither answered nor closed within 15 s')));
    socket.write(request, 'latin1');
  });
}
