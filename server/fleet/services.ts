import { config } from '../config';
import type { Db } from '../db/client';
import { projectRoot } from '../paths';
import { DemoTraffic } from './demo-traffic';
import { EmbeddedHostSupervisor } from './embedded-host';
import { startFleetListener, type FleetListener } from './fleet-listener';
import { loadOrCreateFleetCa } from './identity/ca';
import { fleetMetrics } from './metrics-store';
import { SANDBOX_GID, SANDBOX_UID } from '../host/sandbox';
import { consoleFilesOf, consoleSecretFiles } from '../secrets-at-rest';

// The fleet's background work in the console process, started once from instrumentation.ts: the fleet API's TLS
// listener, the embedded host and its demo traffic, and the timers that write closed metric windows and prune old facts.

const FLUSH_EVERY_MS = 10_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const HOST_EVENT_RETENTION_MS = 30 * 86_400_000;

interface FleetServices {
  listener: FleetListener;
  supervisor: EmbeddedHostSupervisor | null;
  demoTraffic: DemoTraffic | null;
}

const holder = globalThis as unknown as { hotplaneFleetServices?: Promise<FleetServices> };

async function start(db: Db, log: (line: string) => void): Promise<FleetServices> {
  const settings = config();
  const metrics = fleetMetrics();
  const report = (what: string) => (error: Error) => log(`${what}: ${error.message}`);
  setInterval(() => void metrics.flushRollups(db).catch(report('writing metric rollups')), FLUSH_EVERY_MS).unref();
  setInterval(() => {
    void metrics.pruneRollups(db).catch(report('pruning metric rollups'));
    void db.hostEvent.deleteMany({ where: { time: { lt: new Date(Date.now() - HOST_EVENT_RETENTION_MS) } } }).catch(report('pruning host events'));
  }, PRUNE_EVERY_MS).unref();
  const ca = await loadOrCreateFleetCa(settings.fleet.caFile, settings.fleet.trustDomain);
  const listener = await startFleetListener({
    db,
    metrics,
    ca,
    port: settings.fleet.port,
    bind: settings.fleet.bind,
    serverNames: settings.fleet.serverNames,
    hostCertHours: settings.fleet.hostCertHours,
    log,
  });
  log(`fleet API (mutual TLS) on port ${listener.port}`);
  process.once('exit', () => listener.server.close());
  if (!settings.embeddedHost) return { listener, supervisor: null, demoTraffic: null };

  const supervisor = await new EmbeddedHostSupervisor({
    db,
    hostDir: settings.hostDataDir,
    projectRoot: projectRoot(),
    fleetPort: listener.port,
    caCertificatePem: ca.certificatePem,
    hostPort: settings.hostPort,
    log,
    // Outside the console's trust boundary: its own folder and, when the console is root, its own user.
    runAs: process.getuid?.() === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : null,
    consoleSecrets: consoleSecretFiles(consoleFilesOf(settings)),
  }).start();
  process.once('exit', () => supervisor.stop());
  const demoTraffic = new DemoTraffic({ db, invokeUrl: supervisor.invokeUrl, enabled: settings.demoMode }).start();
  return { listener, supervisor, demoTraffic };
}

export function startFleetServices(db: Db, log: (line: string) => void = (line) => console.error(`hotplane fleet: ${line}`)) {
  holder.hotplaneFleetServices ??= start(db, log);
  return holder.hotplaneFleetServices;
}

/**
 * The orderly stop on SIGTERM/SIGINT (server/bootstrap/shutdown.ts): no more demo traffic, the embedded host
 * drained and exited (its cells with it), then the fleet listener closed with every connection it holds (a host's
 * kept-alive long poll would otherwise hold it open).
 */
export async function stopFleetServices(): Promise<void> {
  const services = await runningFleetServices();
  if (!services) return;
  services.demoTraffic?.stop();
  await services.supervisor?.stopAndWait();
  await services.listener.close();
}

/** The immediate stop (a second signal, or the deadline passed): the embedded host's process group is killed. */
export async function killFleetServices(): Promise<void> {
  (await runningFleetServices())?.supervisor?.kill();
}

/** The running services, or null when this process did not start them (tests, the CLI). */
export async function runningFleetServices(): Promise<FleetServices | null> {
  return (await holder.hotplaneFleetServices?.catch(() => null)) ?? null;
}
