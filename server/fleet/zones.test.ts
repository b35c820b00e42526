import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCaller } from '../api/root';
import type { SessionUser } from '../auth/session';
import type { DesiredState } from '../protocol';
import { writeZoneDesired, clearZoneDesired } from '../rollout/fleet-bridge';
import { putLiveApproved } from '../testing/approved-desired';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { startTestFleet, type TestFleet, type TestHostClient } from '../testing/host-identity';
import { FLEET_PATHS } from '../protocol';
import { readDesiredModule, readDesiredState } from './desired-state';
import { FleetMetrics } from './metrics-store';

// Hosts in zones (docs/fleet.md#zones): registered with a zone and group, moved only by an admin (audited), and sent
// their zone's desired state over the real HTTP handler, with a tag that changes when their zone's state does.

const admin: SessionUser = { id: 'u-admin', name: 'admin', email: 'admin@test', roles: ['admin'], via: 'cookie' };
const operator: SessionUser = { id: 'u-operator', name: 'operator', email: 'operator@test', roles: ['operator'], via: 'cookie' };

describe('hosts in zones', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  const hosts = new Map<string, TestHostClient>();
  const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });
  const as = (user: SessionUser) => createCaller({ db: f.db, headers: sameOrigin, user });
  const pull = (host: string, etag?: string) =>
    hosts.get(host)!.fetch(FLEET_PATHS.desiredState, { headers: etag ? { 'if-none-match': etag } : {} });
  const ledgerWeights = (state: DesiredState) => Object.fromEntries(state.modules.find((m) => m.module === 'ledger')!.versions.map((v) => [v.version, v.weight]));

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }] });
    // Real hosts' side: enrolled with their join tokens, every pull over mutual TLS, the zone looked up by the listener.
    fleet = await startTestFleet(f.db, new FleetMetrics());
    hosts.set('a-1', await fleet.enrolWith((await as(admin).fleet.registerHost({ name: 'a-1', zone: 'zone-a', group: 'rack-1' })).joinToken));
    hosts.set('b-1', await fleet.enrolWith((await as(admin).fleet.registerHost({ name: 'b-1', zone: 'zone-b' })).joinToken));
    hosts.set('d-1', await fleet.enrolWith((await as(admin).fleet.registerHost({ name: 'd-1' })).joinToken));
  });
  after(() => fleet.close());

  it('registers hosts in the zone and group given, "default" when none, and refuses a zone name that is not one', async () => {
    const rows = await f.db.host.findMany({ where: { id: { in: ['a-1', 'b-1', 'd-1'] } }, orderBy: { id: 'asc' } });
    assert.deepEqual(rows.map((h) => [h.id, h.zone, h.group]), [['a-1', 'zone-a', 'rack-1'], ['b-1', 'zone-b', null], ['d-1', 'default', null]]);
    await assert.rejects(as(admin).fleet.registerHost({ name: 'x-1', zone: 'Zone A!' }), /a zone is 1-63 characters/);
  });

  it('sends each host its zone’s state: a zone’s own versions over the fleet-wide ones, and a new tag when its zone changes', async () => {
    const first = await pull('b-1');
    const tagBefore = first.headers.get('etag')!;
    assert.deepEqual(ledgerWeights((await first.json()) as DesiredState), { '1.0.0': 100 });
    const fleet = (await f.db.$transaction((tx) => readDesiredModule(tx, 'ledger')))!;
    const sm3 = (await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.1.0' } })).sm3;
    const canary = { ...fleet, versions: [{ ...fleet.versions[0], weight: 90 }, { version: '1.1.0', sm3, weight: 10, isolation: 'process' as const }] };
    await f.db.$transaction((tx) => writeZoneDesired(tx, f.actor, 'ledger', ['zone-a'], canary, null));

    const a = await pull('a-1');
    assert.deepEqual(ledgerWeights((await a.json()) as DesiredState), { '1.0.0': 90, '1.1.0': 10 }, 'zone-a is sent its own state');
    const b = await pull('b-1', tagBefore);
    assert.equal(b.status, 200, 'every zone change raises the generation, so the old tag no longer matches');
    assert.deepEqual(ledgerWeights((await b.json()) as DesiredState), { '1.0.0': 100 }, 'zone-b keeps the fleet-wide state');
    assert.equal((await pull('b-1', b.headers.get('etag')!)).status, 304);
    const audited = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'runtime.desired_changed' }, orderBy: { seq: 'desc' } });
    assert.equal(JSON.parse(audited.details).zone, 'zone-a');

    await f.db.$transaction((tx) => clearZoneDesired(tx, f.actor, 'ledger', null));
    assert.deepEqual(ledgerWeights(await f.db.$transaction((tx) => readDesiredState(tx, 'zone-a'))), { '1.0.0': 100 }, 'cleared: zone-a runs the fleet-wide state again');
    assert.equal(await f.db.desiredZoneModule.count(), 0);
  });

  it('attack: an operator cannot move a host to another zone; an admin can, audited, and the host is then sent the new zone’s state', async () => {
    await assert.rejects(as(operator).fleet.setHostZone({ hostId: 'b-1', zone: 'zone-a' }), /do not include the right "fleet.manage"/);
    assert.equal((await f.db.host.findUniqueOrThrow({ where: { id: 'b-1' } })).zone, 'zone-b');
    const tag = (await pull('b-1')).headers.get('etag')!;
    await as(admin).fleet.setHostZone({ hostId: 'b-1', zone: 'zone-a', group: 'rack-2' });
    assert.deepEqual(await f.db.host.findUniqueOrThrow({ where: { id: 'b-1' }, select: { zone: true, group: true } }), { zone: 'zone-a', group: 'rack-2' });
    const event = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.zone_changed', targetId: 'b-1' } });
    assert.deepEqual(JSON.parse(event.details), { from: { zone: 'zone-b', group: null }, to: { zone: 'zone-a', group: 'rack-2' } });
    assert.equal((await pull('b-1', tag)).status, 200, 'the move raises the generation, so the host fetches its new zone’s state');
    await assert.rejects(as(admin).fleet.setHostZone({ hostId: 'nobody', zone: 'zone-a' }), /no host "nobody"/);
  });
});
