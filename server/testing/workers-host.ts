import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { startTestFleet } from './host-identity';
import { freePort } from './processes';
import { waitFor } from './wait-for';

// Tests' `hotplane host --workers 2` against a test fleet, and one invoke call to it.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `hotplane host --workers 2` joined to the fleet; resolves once it serves. */
export async function startWorkersHost(fleet: Awaited<ReturnType<typeof startTestFleet>>, joinToken: string, dataDir: string) {
  const port = await freePort();
  const log: string[] = [];
  const child = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'server/host/main.ts', '--workers', '2', '--console', fleet.url, '--console-ca', fleet.ca.certFile,
    '--data', dataDir, '--port', String(port), '--access-log', 'off'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOTPLANE_JOIN_TOKEN: joinToken } });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log.push(text));
  await waitFor('the host to serve the console’s state', () => {
    if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}: ${log.join('')}`);
    return log.join('').includes('invoke API on');
  }, { timeoutMs: 90_000 });
  return { port, log, child };
}

export function invoke(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/invoke/ledger', agent: false, headers: { 'content-length': 13 } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('no answer in 20 s')));
    req.end('balance alice');
  });
}
