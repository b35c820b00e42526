import semver from 'semver';
import { NEVER_HOT_UPGRADABLE, type ModuleClass } from '../artifacts/manifest';
import type { Host } from '../db/generated/client';
import { config } from '../config';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { VersionStatus } from '../protocol';
import { currentGeneration, desiredModuleOf, readDesiredState, readZoneOverrides } from './desired-state';
import { HOST_OFFLINE_AFTER_MS, versionHealth, worstHealth } from './health';
import { combineTotals, EMPTY_TOTALS, errorPercent } from './metric-math';
import type { FleetMetrics } from './metrics-store';
import { EMBEDDED_HOST_ID } from './hosts';
import { hostHealth, hostLag, moduleZones, type GenerationClock } from './zone-views';

// Read models for the console pages: hosts, one module's runtime, and the fleet dashboard.

const RATE_WINDOW_SECONDS = 10;

function hostView(row: Host, clock: GenerationClock, now: number) {
  const online = !row.revokedAt && row.lastSeenAt !== null && now - row.lastSeenAt.getTime() < HOST_OFFLINE_AFTER_MS;
  const versions = row.lastReport ? (JSON.parse(row.lastReport) as VersionStatus[]) : [];
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    zone: row.zone,
    group: row.group,
    embedded: row.id === EMBEDDED_HOST_ID,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    lastSeenAt: row.lastSeenAt,
    lastReportAgeSeconds: row.lastSeenAt ? Math.max(0, Math.round((now - row.lastSeenAt.getTime()) / 1000)) : null,
    online,
    health: hostHealth({ ...row, online }, versions),
    lag: hostLag(row, clock, now),
    appliedGeneration: row.appliedGeneration,
    processStartedAt: row.processStartedAt,
    versions,
  };
}
export type HostView = ReturnType<typeof hostView>;

async function generationClock(db: Db | DbTransaction): Promise<GenerationClock> {
  const row = await db.fleetGeneration.findUniqueOrThrow({ where: { id: 1 } });
  return { generation: row.generation, since: row.updatedAt, lagMs: config().hostLagSeconds * 1000 };
}

async function activeHosts(db: Db, now: number): Promise<HostView[]> {
  const [clock, rows] = await Promise.all([generationClock(db), db.host.findMany({ where: { revokedAt: null }, orderBy: { name: 'asc' } })]);
  return rows.map((row) => hostView(row, clock, now));
}

export async function listHosts(db: Db, now = Date.now()) {
  const [clock, rows] = await Promise.all([generationClock(db), db.host.findMany({ orderBy: [{ revokedAt: 'asc' }, { name: 'asc' }] })]);
  const hosts = rows.map((row) => hostView(row, clock, now));
  return { generation: clock.generation, lagSeconds: clock.lagMs / 1000, zones: [...new Set(hosts.filter((h) => !h.revokedAt).map((h) => h.zone))].sort(), hosts };
}

export async function moduleRuntime(db: Db, module: string, now = Date.now()) {
  const found = await db.module.findUnique({ where: { name: module }, include: { versions: true } });
  if (!found) throw new DomainError(DomainErrorCode.NotFound, `no module named "${module}" in the registry`);
  const [[generation, row, own], hosts, events] = await Promise.all([
    db.$transaction((tx) => Promise.all([currentGeneration(tx), tx.desiredModule.findUnique({ where: { module } }), readZoneOverrides(tx, module)])),
    activeHosts(db, now),
    db.hostEvent.findMany({ where: { module }, orderBy: { id: 'desc' }, take: 50, include: { host: { select: { name: true } } } }),
  ]);
  const desired = row ? desiredModuleOf(row) : null;
  return {
    module,
    class: found.class,
    hotUpgradable: !NEVER_HOT_UPGRADABLE.includes(found.class as ModuleClass),
    generation,
    desired: desired && row ? { ...desired, updatedAt: row.updatedAt, updatedBy: row.updatedBy } : null,
    health: desired?.versions.map((v) => ({ version: v.version, ...versionHealth(hosts, module, v.version, generation) })) ?? [],
    candidates: found.versions
      .filter((v) => v.status === 'accepted')
      .sort((a, b) => semver.rcompare(a.version, b.version))
      .map((v) => ({ version: v.version, sm3: v.sm3, goRuntime: v.goRuntime, createdAt: v.createdAt })),
    hosts: hosts.map((h) => ({ ...h, inSync: h.appliedGeneration >= generation, versions: h.versions.filter((v) => v.module === module) })),
    zones: moduleZones(module, desired, own, hosts, generation),
    events: events.map((e) => ({ id: e.id, host: e.host.name, time: e.time, version: e.version, kind: e.kind, message: e.message })),
  };
}

const SPARKLINE_SECONDS = 60;

/** All versions' requests in each of the last minute's seconds, oldest first, for the dashboard's sparkline. */
function requestsPerSecond(metrics: FleetMetrics, module: string, now: number): number[] {
  const last = Math.floor(now / 1000) - 1;
  const first = last - SPARKLINE_SECONDS + 1;
  const counts = new Array<number>(SPARKLINE_SECONDS).fill(0);
  for (const { seconds } of metrics.moduleSeconds(module, first, last)) for (const { second, totals } of seconds) counts[second - first] += totals.requests;
  return counts;
}

export async function fleetDashboard(db: Db, metrics: FleetMetrics, now = Date.now()) {
  const [state, hosts] = await Promise.all([db.$transaction((tx) => readDesiredState(tx)), activeHosts(db, now)]);
  return {
    generation: state.generation,
    hostsOnline: hosts.filter((h) => h.online).length,
    hostsInSync: hosts.filter((h) => h.online && h.appliedGeneration >= state.generation).length,
    modules: state.modules.map((desired) => {
      const recent = metrics.recentTotals(desired.module, RATE_WINDOW_SECONDS, now);
      const versions = desired.versions.map((v) => {
        const totals = recent.get(v.version);
        return {
          version: v.version,
          weight: v.weight,
          isolation: v.isolation,
          health: versionHealth(hosts, desired.module, v.version, state.generation),
          rps: totals ? totals.requests / RATE_WINDOW_SECONDS : 0,
          errorPercent: totals ? errorPercent(totals) : null,
        };
      });
      const all = [...recent.values()].reduce(combineTotals, { ...EMPTY_TOTALS });
      return {
        module: desired.module,
        versions,
        sparkline: requestsPerSecond(metrics, desired.module, now),
        health: worstHealth(versions.map((v) => v.health)),
        rps: all.requests / RATE_WINDOW_SECONDS,
        errorPercent: errorPercent(all),
      };
    }),
  };
}
