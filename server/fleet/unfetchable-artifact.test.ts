import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlaneAgent } from '../host/agent';
import type { FleetFetch } from '../host/fleet-transport';
import { Host } from '../host/host';
import type { HostReport } from '../protocol';
import { rollbackModule } from '../rollout/rollback';
import { loadRolloutSettings } from '../rollout/settings';
import { compileLedger } from '../testing/compile-ledger';
import { putLiveApproved } from '../testing/approved-desired';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { startTestFleet, type TestFleet, type TestHostClient } from '../testing/host-identity';
import { waitFor } from '../testing/wait-for';
import { replaceDesiredModule } from './desired-state';
import { FleetMetrics } from './metrics-store';

// A real host and its agent against the console's own fleet listener over loopback mutual TLS, with one artifact
// the console's store has lost.
describe('one artifact that cannot be fetched', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  let client: TestHostClient;
  const reports: HostReport[] = [];

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    // Sorts before "ledger", so a host that stopped at the first bad module would never reach ledger's rollback.
    const edge = await compileLedger(f.work, { file: 'edge-ledger-1.0.0.so', version: '1.0.0', name: 'edge-ledger' });
    const accepted = await f.upload(await f.signedArtifact({ so: edge, module: 'edge-ledger', version: '1.0.0' }));
    assert.equal(accepted.outcome, 'accepted', accepted.message);
    fleet = await startTestFleet(f.db, new FleetMetrics());
    client = await fleet.enrol(f.actor, 'edge-1');
  });
  after(() => fleet.close());

  // What the host sends is kept for the assertions, then goes over mutual TLS as usual.
  const recordingFetch: FleetFetch = (url, init) => {
    if (String(url).endsWith('/api/fleet/report') && init?.body) reports.push(JSON.parse(init.body) as HostReport);
    return client.transport.fetch(url, init);
  };

  const version = (module: string, v: string) => f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: module, version: v } } });

  it('attack: one unfetchable artifact does not stop a rollback of another module, and is reported once, without a stack trace', async () => {
    // ledger goes 1.0.0 → 1.1.0 through approved change requests, so a break-glass has a promoted stable to return to.
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' }] });
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'inproc' }] });
    const dataDir = path.join(f.work, 'host');
    const lines: string[] = [];
    // As server/host/main.ts wires them: the host fetches artifacts through its agent.
    const host: Host = new Host({ hostId: 'edge-1', dataDir, fetchArtifact: (sm3) => agent.fetchArtifact(sm3) }).start();
    const agent = new ControlPlaneAgent(host, { controlPlane: fleet.url, fetch: recordingFetch, dataDir, log: (line) => lines.push(line) });
    try {
      await agent.syncOnce();
      assert.equal((await host.invoke('ledger', Buffer.from('balance alice'))).version, '1.1.0');

      // The store and the database lose edge-ledger's bytes; in the same breath edge-ledger is added (written here as if its change
      // request had applied just before the loss: a preflight would have caught the missing file) and on-call rolls
      // ledger back.
      const edge = await version('edge-ledger', '1.0.0');
      await rm(edge.storePath, { force: true });
      await f.db.artifactBlob.delete({ where: { sm3: edge.sm3 } });
      await f.db.$transaction((tx) =>
        replaceDesiredModule(tx, 'edge-ledger', { module: 'edge-ledger', versions: [{ version: '1.0.0', sm3: edge.sm3, weight: 100, isolation: 'inproc' }] }, 'test'),
      );
      const rollback = await rollbackModule(f.db, { id: 'oncall', name: 'oncall@test', roles: ['oncall'] }, { module: 'ledger', reason: '1.1.0 charges twice' }, loadRolloutSettings());
      assert.match(rollback.to, /^1\.0\.0 as before cr-2/);

      await agent.syncOnce();
      const generation = (await f.db.fleetGeneration.findFirstOrThrow()).generation;
      assert.equal(host.generation, generation, 'the state applied, bad artifact and all');
      await waitFor('ledger to serve 1.0.0', () => host.versionStatuses().some((s) => s.module === 'ledger' && s.version === '1.0.0' && s.phase === 'serving'));
      const answers = await Promise.all(Array.from({ length: 10 }, () => host.invoke('ledger', Buffer.from('balance alice'))));
      assert.deepEqual(new Set(answers.map((a) => a.version)), new Set(['1.0.0']), 'every answer comes from the rolled-back-to version');

      const failed = host.versionStatuses().find((s) => s.module === 'edge-ledger');
      assert.equal(failed?.phase, 'failed');
      assert.match(failed?.reason ?? '', /could not fetch the artifact of edge-ledger 1\.0\.0 .*the console has lost the bytes of edge-ledger 1\.0\.0/);
      assert.equal((await host.invoke('edge-ledger', Buffer.from('balance alice'))).status, 503);

      for (let i = 0; i < 5; i += 1) await agent.syncOnce();
      const loadFailed = reports.flatMap((r) => r.events).filter((e) => e.kind === 'load-failed' && e.module === 'edge-ledger');
      assert.equal(loadFailed.length, 1, 'one report of the failure for this generation, not one per poll');
      assert.equal(await f.db.auditEvent.count({ where: { action: 'host.version_failed', targetId: 'edge-ledger@1.0.0' } }), 1);
      assert.ok(!lines.some((line) => /\n\s+at /.test(line)), 'no stack trace in the host log');
    } finally {
      agent.stop();
      await host.stop();
    }
  });
});
