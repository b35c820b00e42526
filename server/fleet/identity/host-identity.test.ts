import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createConsoleFixture, type ConsoleFixture } from '../../testing/console-fixture';
import { startTestFleet, testFleetCa, type TestFleet } from '../../testing/host-identity';
import { waitFor } from '../../testing/wait-for';
import { FleetTransport } from '../../host/fleet-transport';
import { registerHost, revokeHost } from '../hosts';
import { FleetMetrics } from '../metrics-store';
import { issueHostCertificate } from './ca';
import { certificateRequestPem, newKeyPair, privateKeyPem } from './x509';
import { flushReportBatches } from '../report-batch';

// Host identity through the real fleet listener on loopback: real TLS, the real enrolment endpoint, the real host
// transport. Every way around the client certificate is tried here.

const admin = { id: 'u-admin', name: 'admin@test', roles: ['admin'] };

function report(hostId: string) {
  return JSON.stringify({ hostId, appliedGeneration: 0, startedAt: new Date().toISOString(), versions: [], metrics: [], events: [] });
}

/** One request with an explicit client identity (or none), outside the host transport. */
function rawRequest(url: string, options: { ca: string; key?: string; cert?: string; method?: string; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const agent = new Agent({ ca: options.ca, key: options.key, cert: options.cert, keepAlive: false });
    const req = httpsRequest(url, { method: options.method ?? 'GET', agent, headers: options.body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function postEnrolment(fleet: TestFleet, joinToken: string, csr: string) {
  return rawRequest(`${fleet.url}/api/fleet/enrol`, { ca: fleet.ca.certificatePem, method: 'POST', body: JSON.stringify({ joinToken, csr }) });
}

describe('host identity by mutual TLS', () => {
  let f: ConsoleFixture;
  let fleet: TestFleet;
  const metrics = new FleetMetrics();

  before(async () => {
    f = await createConsoleFixture();
    fleet = await startTestFleet(f.db, metrics);
  });
  after(() => fleet.close());

  it('enrols a host with a one-time join token: its own key (0600 in a 0700 folder), a 24 h certificate naming spiffe://<trust domain>/host/<id>, the serial recorded and audited', async () => {
    const { joinToken, expiresAt } = await registerHost(f.db, admin, { name: 'edge-1' });
    assert.match(joinToken, /^hpj_[A-Za-z0-9_-]{40,}$/);
    assert.ok(expiresAt.getTime() - Date.now() > 59 * 60_000 && expiresAt.getTime() - Date.now() <= 60 * 60_000);
    const stored = await f.db.hostJoinToken.findFirstOrThrow({ where: { hostId: 'edge-1' } });
    assert.ok(!JSON.stringify(stored).includes(joinToken), 'only the hash is stored');

    const started = Date.now();
    const host = await fleet.enrolWith(joinToken);
    const enrolMs = Date.now() - started;
    assert.equal(host.hostId, 'edge-1');
    const dir = FleetTransport.folder(host.dataDir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path.join(dir, 'host-key.pem')).mode & 0o777, 0o600);
    const certificate = new X509Certificate(await import('node:fs').then((fs) => fs.readFileSync(path.join(dir, 'host-cert.pem'), 'utf8')));
    assert.equal(certificate.subjectAltName, 'URI:spiffe://hotplane.test/host/edge-1');
    assert.ok(certificate.checkIssued(new X509Certificate(fleet.ca.certificatePem)));
    const lifetimeHours = (Date.parse(certificate.validTo) - Date.now()) / 3_600_000;
    assert.ok(lifetimeHours > 23.9 && lifetimeHours <= 24, `lifetime ${lifetimeHours} h`);
    const row = await f.db.hostCertificate.findUniqueOrThrow({ where: { serial: certificate.serialNumber } });
    assert.equal(row.hostId, 'edge-1');
    assert.equal((await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.enrolled', targetId: 'edge-1' } })).targetType, 'host');

    const state = await host.fetch('/api/fleet/desired-state');
    assert.equal(state.status, 200, await state.clone().text());
    assert.equal((await state.json() as { generation: number }).generation, 0);
    console.log(`enrolment (key, CSR, TLS, signing, DB) took ${enrolMs} ms`);
  });

  it('renews over mutual TLS with a new key and CSR: a new serial for the same host, and the new certificate works', async () => {
    const host = await fleet.enrol(admin, 'edge-renew');
    const before = host.transport.certificateExpiresAt;
    await host.transport.renew();
    assert.ok(host.transport.certificateExpiresAt >= before);
    assert.equal(await f.db.hostCertificate.count({ where: { hostId: 'edge-renew' } }), 2);
    assert.equal(await f.db.auditEvent.count({ where: { action: 'host.certificate_renewed', targetId: 'edge-renew' } }), 1);
    assert.equal((await host.fetch('/api/fleet/desired-state')).status, 200);
  });

  it('renews in the background at two thirds of the lifetime, not before', async () => {
    const host = await fleet.enrol(admin, 'edge-timer');
    const issued = () => f.db.hostCertificate.count({ where: { hostId: 'edge-timer' } });
    const renewals = mock.method(host.transport, 'renew');
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      host.transport.startRenewal();
      // Issued 5 minutes back-dated (clock skew) for 24 h: two thirds fall 16 h 3 min 20 s after the CA signed it.
      mock.timers.tick(15.9 * 3_600_000);
      assert.equal(renewals.mock.callCount(), 0, 'renewed before two thirds of the lifetime');
      mock.timers.tick(0.2 * 3_600_000);
      assert.equal(renewals.mock.callCount(), 1);
    } finally {
      mock.timers.reset();
    }
    await waitFor('the background renewal', async () => (await issued()) === 2);
    host.transport.stop();
  });

  it('attack: a request without a client certificate is refused with what to do; only enrolment answers it', async () => {
    for (const [method, route] of [['GET', '/api/fleet/desired-state'], ['POST', '/api/fleet/report'], ['GET', `/api/fleet/artifacts/${'0'.repeat(64)}`], ['POST', '/api/fleet/renew']]) {
      const answer = await rawRequest(`${fleet.url}${route}`, { ca: fleet.ca.certificatePem, method, body: method === 'POST' ? report('edge-1') : undefined });
      assert.equal(answer.status, 401, route);
      assert.match(answer.body, /needs a client certificate of this console's CA \(no client certificate was sent\): enrol the host/);
    }
  });

  it('attack: a certificate for the same host id from another CA is refused', async () => {
    const other = await testFleetCa('hotplane.test');
    const keys = await newKeyPair();
    const forged = await issueHostCertificate(other, 'edge-1', await certificateRequestPem(keys, 'edge-1'));
    const answer = await rawRequest(`${fleet.url}/api/fleet/desired-state`, { ca: fleet.ca.certificatePem, key: await privateKeyPem(keys.privateKey), cert: forged.pem });
    assert.equal(answer.status, 401);
    assert.match(answer.body, /needs a client certificate of this console's CA \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)\)/);
  });

  it('attack: an expired certificate of this CA is refused', async () => {
    const keys = await newKeyPair();
    const expired = await issueHostCertificate(fleet.ca, 'edge-1', await certificateRequestPem(keys, 'edge-1'), -0.05);
    const answer = await rawRequest(`${fleet.url}/api/fleet/desired-state`, { ca: fleet.ca.certificatePem, key: await privateKeyPem(keys.privateKey), cert: expired.pem });
    assert.equal(answer.status, 401);
    assert.match(answer.body, /CERT_HAS_EXPIRED/);
  });

  it('attack: a revoked host is cut off at once, its open connection included, and its certificate refused from then on', async () => {
    const host = await fleet.enrol(admin, 'edge-revoked');
    const dir = FleetTransport.folder(host.dataDir);
    const fs = await import('node:fs');
    const [key, cert] = ['host-key.pem', 'host-cert.pem'].map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
    // A long-lived connection: a report whose body never finishes, so the handler waits on it.
    const socket = connect({ host: '127.0.0.1', port: fleet.listener.port, ca: fleet.ca.certificatePem, key, cert });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    socket.write(`POST /api/fleet/report HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"hostId":`);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    await waitFor('the connection to be counted for edge-revoked', () => fleet.listener.openConnections('edge-revoked') === 1);

    const revokedAt = Date.now();
    await revokeHost(f.db, admin, 'edge-revoked', metrics);
    const cutMs = (await closed) - revokedAt;
    assert.ok(cutMs < 500, `cut after ${cutMs} ms`);
    await waitFor('the listener to forget the connection', () => fleet.listener.openConnections('edge-revoked') === 0);

    const again = await rawRequest(`${fleet.url}/api/fleet/report`, { ca: fleet.ca.certificatePem, key, cert, method: 'POST', body: report('edge-revoked') }).catch((error: Error) => ({ status: 0, body: error.message }));
    assert.notEqual(again.status, 200, 'the revoked certificate got an answer');
    assert.equal(await f.db.hostCertificate.count({ where: { hostId: 'edge-revoked', revokedAt: null } }), 0);
    console.log(`revoked host's open connection cut ${cutMs} ms after revokeHost returned`);
  });

  it('attack: a certificate revoked by another replica (only the database knows) is refused within the deny-list refresh', async () => {
    const host = await fleet.enrol(admin, 'edge-elsewhere');
    assert.equal((await host.fetch('/api/fleet/desired-state')).status, 200);
    await f.db.hostCertificate.updateMany({ where: { hostId: 'edge-elsewhere' }, data: { revokedAt: new Date() } });
    await waitFor('the deny-list to refuse the certificate', async () => {
      const answer = await host.fetch('/api/fleet/desired-state').catch(() => null);
      return answer === null || answer.status === 401;
    }, { timeoutMs: 3_000 });
  });

  it('attack: a join token works once; a reused, expired or made-up token is refused and audited', async () => {
    const { joinToken } = await registerHost(f.db, admin, { name: 'edge-once' });
    await fleet.enrolWith(joinToken);
    const csr = await certificateRequestPem(await newKeyPair(), 'edge-once');
    const reused = await postEnrolment(fleet, joinToken, csr);
    assert.equal(reused.status, 401);
    assert.match(reused.body, /was used at .* and works once: ask an admin for a new one/);

    const expired = await registerHost(f.db, admin, { name: 'edge-late' });
    await f.db.hostJoinToken.updateMany({ where: { hostId: 'edge-late' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const late = await postEnrolment(fleet, expired.joinToken, csr);
    assert.equal(late.status, 401);
    assert.match(late.body, /expired at .*: ask an admin for a new one/);

    const madeUp = await postEnrolment(fleet, `hpj_${'A'.repeat(43)}`, csr);
    assert.equal(madeUp.status, 401);
    assert.match(madeUp.body, /unknown join token/);
    // Guessing on: 50 more made-up tokens from the same address add no audit event (one a minute per address and host).
    for (let i = 0; i < 50; i++) assert.equal((await postEnrolment(fleet, `hpj_guess${i}`, csr)).status, 401);
    const refusals = await f.db.auditEvent.findMany({ where: { action: 'host.enrolment_refused' }, select: { targetId: true } });
    assert.deepEqual(refusals.map((r) => r.targetId).sort(), ['edge-late', 'edge-once', 'unknown']);
    assert.equal(await f.db.hostCertificate.count({ where: { hostId: { in: ['edge-once', 'edge-late'] } } }), 1);
  });

  it('attack: a CSR whose subject asks for another host gets the join token’s host; a CSR with a broken signature gets nothing', async () => {
    const { joinToken } = await registerHost(f.db, admin, { name: 'edge-honest' });
    const keys = await newKeyPair();
    const answer = await postEnrolment(fleet, joinToken, await certificateRequestPem(keys, 'edge-1'));
    assert.equal(answer.status, 200, answer.body);
    const grant = JSON.parse(answer.body) as { hostId: string; certificate: string };
    assert.equal(grant.hostId, 'edge-honest');
    assert.equal(new X509Certificate(grant.certificate).subjectAltName, 'URI:spiffe://hotplane.test/host/edge-honest');
    assert.equal(new X509Certificate(grant.certificate).subject, 'CN=edge-honest');

    const second = await registerHost(f.db, admin, { name: 'edge-broken' });
    const pem = await certificateRequestPem(await newKeyPair(), 'edge-broken');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 0xff;
    const broken = await postEnrolment(fleet, second.joinToken, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
    assert.equal(broken.status, 400);
    assert.match(broken.body, /CSR/);
    assert.equal((await f.db.hostJoinToken.findFirstOrThrow({ where: { hostId: 'edge-broken' } })).usedAt, null, 'a refused CSR leaves the token unused');
  });

  it('attack: a report naming another host in its body is counted for the host its certificate names', async () => {
    const honest = await fleet.enrol(admin, 'edge-victim');
    const liar = await fleet.enrol(admin, 'edge-liar');
    assert.ok(honest.hostId);
    const answer = await liar.fetch('/api/fleet/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: report('edge-victim') });
    assert.equal(answer.status, 200, await answer.clone().text());
    // A report without events is acknowledged first and its host facts written with the replica's next batch.
    await flushReportBatches();
    const [victim, liarRow] = await Promise.all([f.db.host.findUniqueOrThrow({ where: { id: 'edge-victim' } }), f.db.host.findUniqueOrThrow({ where: { id: 'edge-liar' } })]);
    assert.equal(victim.lastSeenAt, null, 'the victim was not touched');
    assert.ok(liarRow.lastSeenAt, 'the report counted for the certificate’s host');
  });
});
