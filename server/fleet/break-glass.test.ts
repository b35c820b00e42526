import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RolloutOutcome } from '../rollout/change-request.types';
import { ControlPlaneAgent } from '../host/agent';
import { LocalBreakGlass } from '../host/break-glass';
import { ConsoleApprovals } from '../host/console-approvals';
import type { FleetFetch } from '../host/fleet-transport';
import { Host } from '../host/host';
import { createHostHttpServer } from '../host/http-server';
import type { HostBreakGlass } from '../protocol';
import { putLiveApproved } from '../testing/approved-desired';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { startTestFleet, type TestFleet, type TestHostClient } from '../testing/host-identity';
import { waitFor } from '../testing/wait-for';
import { readDesiredModule } from './desired-state';
import { FleetMetrics } from './metrics-store';

// The break-glass while the console is down, end to end: a real console (database, fleet listener over mutual TLS),
// a real host with its agent and admin API, and the real CLI (`hotplane host rollback`). The console "goes down" for
// the host by its fetch failing as an unreachable one does, and comes back.

const BIN = path.resolve('bin/hotplane.js');
const ADMIN = 'host-admin-token-for-the-test';

describe('break-glass on a host while the console is down, adopted when it is back', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  let client: TestHostClient;
  let host: Host;
  let agent: ControlPlaneAgent;
  let server: Server;
  let hostUrl: string;
  let consoleDown = false;
  const told: HostBreakGlass[] = [];
  const lines: string[] = [];

  const fleetFetch: FleetFetch = (url, init) => {
    if (consoleDown) return Promise.reject(new TypeError('fetch failed'));
    if (String(url).endsWith('/api/fleet/break-glass') && init?.body) told.push(JSON.parse(init.body) as HostBreakGlass);
    return client.transport.fetch(url, init);
  };
  const tell = (body: unknown) => client.fetch('/api/fleet/break-glass', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const generation = async () => (await f.db.fleetGeneration.findFirstOrThrow()).generation;
  const serving = async () => (await host.invoke('ledger', Buffer.from('balance alice'))).version;
  const sm3Of = async (version: string) => (await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version } } })).sm3;
  const refusals = () => f.db.auditEvent.count({ where: { action: 'host.break_glass_refused' } });

  function hotplane(args: string[], env: Record<string, string> = { HOTPLANE_HOST_ADMIN_TOKEN: ADMIN }): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, HOTPLANE_HOST_ADMIN_TOKEN: '', HOTPLANE_HOST_URL: hostUrl, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    fleet = await startTestFleet(f.db, new FleetMetrics());
    client = await fleet.enrol(f.actor, 'edge-1');
    const dataDir = path.join(f.work, 'host');
    host = new Host({ hostId: 'edge-1', dataDir, fetchArtifact: (sm3) => agent.fetchArtifact(sm3) }).start();
    const approvals = await new ConsoleApprovals(path.join(dataDir, 'console-approved.json')).load();
    const breakGlass = await new LocalBreakGlass(dataDir, host, approvals).load();
    agent = new ControlPlaneAgent(host, { controlPlane: fleet.url, fetch: fleetFetch, dataDir, approvals, breakGlass, log: (line) => lines.push(line) });
    server = createHostHttpServer({ host, adminToken: ADMIN, approvals, breakGlass });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // ledger goes 1.0.0 → 1.1.0 through approved change requests, and the host runs each: 1.0.0 is its last stable.
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' }] });
    await agent.syncOnce();
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'inproc' }] });
    await agent.syncOnce();
    assert.equal(await serving(), '1.1.0');
  });

  after(async () => {
    agent?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await host?.stop();
    await fleet?.close();
  });

  it('attack: a forged break-glass (a version that was never the stable, a module it is not sent, a time in the future) is refused and audited', async () => {
    const before = { generation: await generation(), refusals: await refusals() };
    const genuine = { id: crypto.randomUUID(), module: 'ledger', from: { version: '1.1.0', sm3: await sm3Of('1.1.0') }, reason: 'forged', at: new Date().toISOString(), generation: before.generation };
    const toCurrent = await tell({ ...genuine, to: { version: '1.1.0', sm3: await sm3Of('1.1.0') } });
    assert.equal(toCurrent.status, 409);
    assert.match(((await toCurrent.json()) as { message: string }).message, /ledger 1\.1\.0 \(SM3 [0-9a-f]{64}\) is not what a break-glass goes back to now \(1\.0\.0, SM3/);
    const otherBytes = await tell({ ...genuine, id: crypto.randomUUID(), to: { version: '1.0.0', sm3: await sm3Of('1.1.0') } });
    assert.equal(otherBytes.status, 409, 'the right version name with other bytes is not the stable');
    const notServed = await tell({ ...genuine, id: crypto.randomUUID(), module: 'risk-rules', to: { version: '1.0.0', sm3: await sm3Of('1.0.0') } });
    assert.equal(notServed.status, 409);
    assert.match(((await notServed.json()) as { message: string }).message, /edge-1 is not sent risk-rules: it cannot have rolled it back/);
    const future = await tell({ ...genuine, id: crypto.randomUUID(), at: new Date(Date.now() + 3_600_000).toISOString(), to: { version: '1.0.0', sm3: await sm3Of('1.0.0') } });
    assert.equal(future.status, 409);
    const malformed = await tell({ module: 'ledger', to: '1.0.0' });
    assert.equal(malformed.status, 400);
    const huge = await tell({ ...genuine, id: crypto.randomUUID(), reason: 'x'.repeat(64 * 1024), to: { version: '1.0.0', sm3: await sm3Of('1.0.0') } });
    assert.equal(huge.status, 413, 'a body past 16 KiB is not read');
    assert.equal(await generation(), before.generation, 'nothing was adopted');
    assert.equal(await refusals(), before.refusals + 4);
    const refusal = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.break_glass_refused' }, orderBy: { seq: 'desc' } });
    assert.equal(refusal.actorId, 'host:edge-1');
    assert.equal((await f.db.postIncidentReview.count()), 0);
  });

  // One test: the replay needs the adopted break-glass, and proof/attacks.proof.ts runs only the attack tests.
  it('attack: a replayed break-glass is refused and audited, and changes nothing — after console down → hotplane host rollback → console back: adopted (rolled back with trigger host-break-glass, review opened), not reverted', async () => {
    consoleDown = true;
    await assert.rejects(agent.syncOnce(), 'the console is unreachable');
    const rolledBack = await hotplane(['host', 'rollback', '--module', 'ledger', '--reason', '1.1.0 double-charges', '--json']);
    assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
    const made = JSON.parse(rolledBack.stdout) as HostBreakGlass & { ok: boolean };
    assert.deepEqual({ ok: made.ok, from: made.from?.version, to: made.to.version }, { ok: true, from: '1.1.0', to: '1.0.0' });
    await waitFor('the host to serve 1.0.0', async () => (await serving()) === '1.0.0', { timeoutMs: 60_000 });
    assert.equal(host.locallyOverridden, true);
    await assert.rejects(agent.syncOnce());
    assert.equal(await serving(), '1.0.0', 'still down: the host keeps its break-glass');

    const before = await generation();
    consoleDown = false;
    await agent.syncOnce();
    assert.deepEqual(told.map((t) => t.id), [made.id], 'told once, before the pull');
    assert.ok(lines.includes('the console adopted the break-glass of ledger to 1.0.0'), lines.join('\n'));
    const desired = await f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
    assert.deepEqual(desired?.versions.filter((v) => v.weight > 0).map((v) => [v.version, v.weight]), [['1.0.0', 100]], 'the console desires the rolled-back state');
    assert.ok((await generation()) > before);
    assert.equal(host.generation, await generation(), 'the host took the console’s (adopted) state');
    assert.equal(host.locallyOverridden, false);
    assert.equal(await serving(), '1.0.0', 'not reverted');

    const rolledBackEvent = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'rollout.rolled_back' }, orderBy: { seq: 'desc' } });
    const details = JSON.parse(rolledBackEvent.details) as RolloutOutcome;
    assert.deepEqual({ trigger: details.trigger, host: details.host, reason: details.reason, actor: rolledBackEvent.actorId }, { trigger: 'host-break-glass', host: 'edge-1', reason: '1.1.0 double-charges', actor: 'host:edge-1' });
    const adopted = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.break_glass_adopted' } });
    assert.equal(adopted.seq, rolledBackEvent.seq + 2, 'rolled back, review opened and adoption audited together');
    const review = await f.db.postIncidentReview.findFirstOrThrow();
    assert.deepEqual({ module: review.module, reason: review.reason, openedBy: review.openedByName, acknowledged: review.acknowledgedAt }, { module: 'ledger', reason: '1.1.0 double-charges', openedBy: 'edge-1', acknowledged: null });
    const request = await f.db.changeRequest.findUniqueOrThrow({ where: { id: review.changeRequestId! } });
    assert.equal(request.state, 'RolledBack');

    await agent.syncOnce();
    assert.equal(await serving(), '1.0.0', 'and stays there at the next poll');

    const beforeReplay = await generation();
    const replay = await tell(told[0]);
    assert.equal(replay.status, 409);
    assert.match(((await replay.json()) as { message: string }).message, /was told before \(audit seq \d+\): a replay is not adopted again/);
    assert.equal(await generation(), beforeReplay);
    assert.equal(await f.db.postIncidentReview.count(), 1);
  });

  it('hotplane host rollback: refused by the host with its reason (exit 1), a bad token (1), bad usage (2)', async () => {
    const nothingEarlier = await hotplane(['host', 'rollback', '--module', 'ledger', '--reason', 'again']);
    assert.equal(nothingEarlier.code, 1);
    assert.match(nothingEarlier.stderr, /refused by the host: the console never had this host run an earlier stable of ledger than 1\.0\.0/);
    const wrongToken = await hotplane(['host', 'rollback', '--module', 'ledger', '--reason', 'again'], { HOTPLANE_HOST_ADMIN_TOKEN: 'not-the-token' });
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /the host refused the admin token/);
    const inArgv = await hotplane(['host', 'rollback', '--module', 'ledger', '--reason', 'again', '--admin-token', ADMIN]);
    assert.equal(inArgv.code, 2);
    assert.match(inArgv.stderr, /--admin-token is not taken on the command line/);
    const noReason = await hotplane(['host', 'rollback', '--module', 'ledger']);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason is required/);
    const help = await hotplane(['host', 'rollback', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^hotplane host rollback --module M --reason R/);
  });
});
