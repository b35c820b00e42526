import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { registerHost } from '../../fleet/hosts';
import { FleetMetrics } from '../../fleet/metrics-store';
import { putLiveApproved } from '../../testing/approved-desired';
import { createConsoleFixture } from '../../testing/console-fixture';
import { startTestFleet } from '../../testing/host-identity';
import { waitFor } from '../../testing/wait-for';
import { invoke, startWorkersHost } from '../../testing/workers-host';

// The break-glass of `hotplane host rollback` on a host with workers: the workers serve the admin API, the primary
// keeps the stables, applies the rollback to every worker and tells the console, which adopts it.

test('break-glass on a host with two workers: POST /v1/break-glass on the shared port rolls every worker back to the last stable, and the console adopts it', async () => {
  const f = await createConsoleFixture();
  for (const version of ['1.0.0', '1.1.0']) {
    const accepted = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
    assert.ok(accepted.outcome === 'accepted' || /already/.test(accepted.message), accepted.message);
  }
  const run = (version: string, config: string) => putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version, weight: 100, isolation: 'inproc', config }] });
  await run('1.0.0', 'alice 5\n');
  const fleet = await startTestFleet(f.db, new FleetMetrics());
  const { joinToken } = await registerHost(f.db, { id: 'u-admin', name: 'admin@test', roles: ['admin'] }, { name: 'edge-workers' });
  const dataDir = f.work + '/host';
  const { port, log, child } = await startWorkersHost(fleet, joinToken, dataDir);
  // Every worker answers alike: a run of calls lands on both (node:cluster hands connections out in turn).
  const answers = async () => new Set(await Promise.all(Array.from({ length: 8 }, async () => (await invoke(port)).body)));
  try {
    assert.deepEqual(await answers(), new Set(['alice 5']));
    await run('1.1.0', 'alice 7\n');
    await waitFor('both workers to serve 1.1.0', async () => (await answers()).size === 1 && (await answers()).has('alice 7'), { timeoutMs: 60_000 });

    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const made = await fetch(`http://127.0.0.1:${port}/v1/break-glass`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ module: 'ledger', reason: '1.1.0 double-charges' }) });
    const body = (await made.json()) as { to?: { version: string } };
    assert.equal(made.status, 200, JSON.stringify(body));
    assert.equal(body.to?.version, '1.0.0');
    await waitFor('every worker back on 1.0.0', async () => (await answers()).size === 1 && (await answers()).has('alice 5'), { timeoutMs: 60_000 });

    await waitFor('the console to adopt the break-glass', async () => (await f.db.auditEvent.count({ where: { action: 'host.break_glass_adopted' } })) === 1, { timeoutMs: 120_000 })
      .catch((error: Error) => assert.fail(`${error.message}\n${log.join('')}`));
    assert.equal(await f.db.postIncidentReview.count({ where: { module: 'ledger', reason: '1.1.0 double-charges' } }), 1, 'a review is opened');
    assert.deepEqual(await answers(), new Set(['alice 5']), 'not reverted');
    const again = await fetch(`http://127.0.0.1:${port}/v1/break-glass`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: JSON.stringify({ module: 'ledger', reason: 'no token' }) });
    assert.equal(again.status, 401, 'a wrong admin token moves nothing');
  } finally {
    child.kill('SIGKILL');
    await fleet.close();
  }
});
