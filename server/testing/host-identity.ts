import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { startFleetListener, type FleetListener } from '../fleet/fleet-listener';
import { registerHost, writeEmbeddedJoinToken } from '../fleet/hosts';
import { issueHostCertificate, loadOrCreateFleetCa, type FleetCa } from '../fleet/identity/ca';
import { enrolHost } from '../fleet/identity/enrolment';
import { certificateRequestPem, newKeyPair, privateKeyPem } from '../fleet/identity/x509';
import type { FleetMetrics } from '../fleet/metrics-store';
import { FleetTransport } from '../host/fleet-transport';
import { ensurePrivateDir } from '../secrets-at-rest';

// Host identity for tests: a throwaway CA, the real fleet listener on loopback, and hosts enrolled through its real
// enrolment endpoint with the real host transport (fleet-transport.ts).

/** A throwaway CA; `certFile` holds its certificate alone, what a host is given as --console-ca. */
export async function testFleetCa(trustDomain = 'hotplane.test'): Promise<FleetCa & { certFile: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-test-ca-'));
  const ca = await loadOrCreateFleetCa(path.join(dir, 'ca', 'fleet-ca.pem'), trustDomain);
  const certFile = path.join(dir, 'ca.crt');
  writeFileSync(certFile, ca.certificatePem);
  return { ...ca, certFile };
}

/** Gives the host its row and a certificate without TLS (for tests that call the fleet handlers' functions directly). */
export async function enrolWithoutTls(db: Db, hostId: string, ca?: FleetCa) {
  const tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-test-join-')), 'join-token');
  await writeEmbeddedJoinToken(db, tokenFile, 'http://127.0.0.1:0');
  const keys = await newKeyPair();
  const joinToken = readFileSync(tokenFile, 'utf8').trim();
  return enrolHost(db, ca ?? (await testFleetCa()), { joinToken, csr: await certificateRequestPem(keys, hostId) });
}

/** Writes a host identity (key, certificate of `ca`, pinned CA) into a host data folder, as an enrolment would. */
export async function provisionHostIdentity(dataDir: string, ca: FleetCa, hostId: string) {
  const keys = await newKeyPair();
  const issued = await issueHostCertificate(ca, hostId, await certificateRequestPem(keys, hostId));
  const dir = FleetTransport.folder(dataDir);
  ensurePrivateDir(dir);
  writeFileSync(path.join(dir, 'host-key.pem'), await privateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(path.join(dir, 'host-cert.pem'), issued.pem, { mode: 0o600 });
  writeFileSync(path.join(dir, 'console-ca.pem'), ca.certificatePem, { mode: 0o600 });
}

export interface TestHostClient {
  hostId: string;
  transport: FleetTransport;
  dataDir: string;
  /** A fleet request over mutual TLS with this host's certificate; `path` is relative to the listener. */
  fetch(path: string, init?: Parameters<FleetTransport['fetch']>[1]): Promise<Response>;
}

export interface TestFleet {
  ca: FleetCa & { certFile: string };
  listener: FleetListener;
  url: string;
  /** Registers (as `actor`) and enrols a host through the enrolment endpoint. */
  enrol(actor: AuditActor, name: string): Promise<TestHostClient>;
  /** Enrols with a join token the test already holds. */
  enrolWith(joinToken: string): Promise<TestHostClient>;
  close(): Promise<void>;
}

export async function startTestFleet(db: Db, metrics: FleetMetrics, options: { hostCertHours?: number } = {}): Promise<TestFleet> {
  const ca = await testFleetCa();
  const listener = await startFleetListener({
    db,
    metrics,
    ca,
    port: 0,
    bind: '127.0.0.1',
    serverNames: ['127.0.0.1'],
    hostCertHours: options.hostCertHours ?? 24,
    log: (line) => console.error(`fleet listener: ${line}`),
  });
  const url = `https://127.0.0.1:${listener.port}`;
  const clients: FleetTransport[] = [];
  const enrolWith = async (joinToken: string): Promise<TestHostClient> => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-test-host-'));
    const transport = await FleetTransport.open({ consoleUrl: url, dataDir, consoleCaFile: ca.certFile, joinToken: async () => joinToken });
    clients.push(transport);
    return { hostId: transport.hostId, transport, dataDir, fetch: (p, init) => transport.fetch(new URL(p, url), init) };
  };
  return {
    ca,
    listener,
    url,
    enrolWith,
    enrol: async (actor, name) => enrolWith((await registerHost(db, actor, { name })).joinToken),
    async close() {
      for (const client of clients) client.stop();
      await listener.close();
    },
  };
}
