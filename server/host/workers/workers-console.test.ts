import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerHost } from '../../fleet/hosts';
import { FleetMetrics } from '../../fleet/metrics-store';
import { putLiveApproved } from '../../testing/approved-desired';
import { createConsoleFixture } from '../../testing/console-fixture';
import { startTestFleet } from '../../testing/host-identity';
import { waitFor } from '../../testing/wait-for';
import { invoke, startWorkersHost } from '../../testing/workers-host';

// A real console (fleet listener over mutual TLS) and a real `hotplane host --workers 2`: the primary alone enrols,
// long-polls and reports, and what the console records for the host is every worker's requests, once.

test('a host with two workers reports to its console once: the console counts every request of both workers, and only the primary enrols', async () => {
  const f = await createConsoleFixture();
  const accepted = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' }));
  assert.equal(accepted.outcome, 'accepted', accepted.message);
  await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'inproc', config: 'alice 7\n' }] });
  const metrics = new FleetMetrics();
  const fleet = await startTestFleet(f.db, metrics);
  const { joinToken } = await registerHost(f.db, { id: 'u-admin', name: 'admin@test', roles: ['admin'] }, { name: 'edge-workers' });
  const { port, log, child } = await startWorkersHost(fleet, joinToken, f.work + '/host');
  try {
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
