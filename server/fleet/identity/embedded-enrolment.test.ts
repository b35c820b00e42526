import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createConsoleFixture } from '../../testing/console-fixture';
import { freePort } from '../../testing/processes';
import { waitFor } from '../../testing/wait-for';
import { EMBEDDED_HOST_ID } from '../hosts';
import { runningFleetServices, startFleetServices } from '../services';

// What `npm start` runs (instrumentation.ts → services.ts): the fleet listener and the embedded host, a real
// process that enrols with the join token the console wrote into its folder and then reports over mutual TLS.

test('the console’s fleet services: the embedded host enrols with its join token and reports over mutual TLS', async () => {
  const [fleetPort, hostPort] = [await freePort(), await freePort()];
  const f = await createConsoleFixture({ HOTPLANE_FLEET_PORT: String(fleetPort), HOTPLANE_FLEET_BIND: '127.0.0.1', HOTPLANE_HOST_PORT: String(hostPort), HOTPLANE_EMBEDDED_HOST: '1' });
  const lines: string[] = [];
  await startFleetServices(f.db, (line) => lines.push(line));
  const services = (await runningFleetServices())!;
  try {
    assert.equal(services.listener.port, fleetPort);
    const caFile = path.join(f.dataDir, 'fleet-ca', 'fleet-ca.pem');
    assert.equal(statSync(caFile).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(caFile)).mode & 0o777, 0o700);
    const host = await waitFor('the embedded host to report', async () => (await f.db.host.findUnique({ where: { id: EMBEDDED_HOST_ID } }))?.lastSeenAt, { timeoutMs: 60_000 });
    assert.ok(host);
    const certificate = await f.db.hostCertificate.findFirstOrThrow({ where: { hostId: EMBEDDED_HOST_ID } });
    assert.ok(certificate.notAfter.getTime() > Date.now() + 23 * 3_600_000);
    assert.equal(await f.db.auditEvent.count({ where: { action: 'host.enrolled', targetId: EMBEDDED_HOST_ID } }), 1);
  } finally {
    services.supervisor?.stop();
    await services.listener.close();
  }
  assert.ok(lines.some((line) => line.includes(`fleet API (mutual TLS) on port ${fleetPort}`)), lines.join('\n'));
});
