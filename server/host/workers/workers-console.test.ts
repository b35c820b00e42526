import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerHost } from '../../fleet/hosts';
import { FleetMetrics } from '../../fleet/metrics-store';
import { putLiveApproved } from '../../testing/approved-desired';
import { createConsoleFixture } from '../../testing/console-fixture';
import { startTestFleet } from '../../testing/host-identity';
import { freePort } from '../../testing/processes';
import { waitFor } from '../../testing/wait-for';

// A real console (fleet listener over mutual TLS) and a real `hotplane host --workers 2`: the primary alone enrols,
// long-polls and reports, and what the console records for the host is every worker's requests, once.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function invoke(port: number): Promise<{ status: number; body: string }> {
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

test('a host with two workers reports to its console once: the console counts every request of both workers, and only the primary enrols', async () => {
  const f = await createConsoleFixture();
  const accepted = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' }));
  assert.equal(accepted.outcome, 'accepted', accepted.message);
  await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'inproc', config: 'alice 7\n' }] });
  const metrics = new FleetMetrics();
  const fleet = await startTestFleet(f.db, metrics);
  const { joinToken } = await registerHost(f.db, { id: 'u-admin', name: 'admin@test', roles: ['admin'] }, { name: 'edge-workers' });
  const port = await freePort();
  const log: string[] = [];
  const child = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'server/host/main.ts', '--workers', '2', '--console', fleet.url, '--console-ca', fleet.ca.certFile,
    '--data', f.work + '/host', '--port', String(port), '--access-log', 'off'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOTPLANE_JOIN_TOKEN: joinToken } });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log.push(text));
  try {
    await waitFor('the host to serve the console’s state', () => {
      if (child.exitCode !== null) assert.fail(`the host exited with ${child.exitCode}: ${log.join('')}`);
      return log.join('').includes('invoke API on');
    }, { timeoutMs: 90_000 });
    const SENT = 30;
    for (let i = 0; i < SENT; i++) assert.deepEqual(await invoke(port), { status: 200, body: 'alice 7' });
    const counted = () => metrics.recentTotals('ledger', 300).get('1.1.0')?.requests ?? 0;
    await waitFor('the console to count every request', () => counted() >= SENT, { timeoutMs: 30_000 }).catch((error: Error) => assert.fail(`${error.message}: counted ${counted()}\n${log.join('')}`));
    // A second split between the workers' reports would be overwritten, not added: the count is exact.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(counted(), SENT);
    assert.equal(await f.db.hostCertificate.count({ where: { hostId: 'edge-workers' } }), 1, 'one enrolment for the host');
    const served = [...(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).matchAll(/^hotplane_worker_requests_total\{pid="\d+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(served.length, 2);
    assert.ok(served.every((n) => n > 0), `both workers served: ${served.join(', ')}`);
    for (const slot of [1, 2]) assert.ok(log.join('').includes(`hotplane host worker ${slot}: started`), `worker ${slot} ran`);
  } finally {
    child.kill('SIGKILL');
    await fleet.close();
  }
});
