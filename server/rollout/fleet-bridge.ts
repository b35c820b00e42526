import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db, DbTransaction } from '../db/client';
import { readDesiredModule, readZoneOverrides, replaceDesiredModule, replaceZoneModule, type DesiredChange } from '../fleet/desired-state';
import { HOST_OFFLINE_AFTER_MS } from '../fleet/health';
import type { DesiredModule, DesiredVersion, VersionStatus } from '../protocol';
import type { CanaryHealth } from './analysis';

// How the rollout meets the fleet: it writes one module's desired state (server/fleet/desired-state.ts, with
// the same audit event the operator's form writes), and reads back what the hosts report having applied.

/** Replaces the module's desired state and records `runtime.desired_changed`, inside the caller's transaction. */
export async function writeDesiredModule(tx: DbTransaction, actor: AuditActor, module: string, after: DesiredModule | null, changeRequestId: string | null): Promise<DesiredChange> {
  const change = await replaceDesiredModule(tx, module, after, actor.name);
  if (change.changed) {
    await appendAuditEvent(tx, {
      actor,
      action: 'runtime.desired_changed',
      targetType: 'module',
      targetId: module,
      details: { generation: change.generation, before: change.before, after: change.after, changeRequestId },
    });
  }
  return change;
}

export { readDesiredModule, readZoneOverrides };

/** Sets the module's own state in each of `zones` (a wave's), with one `runtime.desired_changed` per zone changed. */
export async function writeZoneDesired(tx: DbTransaction, actor: AuditActor, module: string, zones: readonly string[], after: DesiredModule | null, changeRequestId: string | null): Promise<number> {
  let generation = 0;
  for (const zone of zones) {
    const change = await replaceZoneModule(tx, zone, module, after, actor.name);
    generation = change.generation;
    if (change.changed) {
      await appendAuditEvent(tx, {
        actor,
        action: 'runtime.desired_changed',
        targetType: 'module',
        targetId: module,
        details: { zone, generation: change.generation, before: change.before, after: change.after, changeRequestId },
      });
    }
  }
  return generation;
}

/** Every zone back on the module's fleet-wide state (promotion, rollback); returns the generation, raised if anything changed. */
export async function clearZoneDesired(tx: DbTransaction, actor: AuditActor, module: string, changeRequestId: string | null): Promise<number | null> {
  const zones = [...(await readZoneOverrides(tx, module)).keys()];
  return zones.length > 0 ? writeZoneDesired(tx, actor, module, zones, null, changeRequestId) : null;
}

/** The one version serving all of the module's traffic, or null while the traffic is split (or nothing runs). */
export function stableVersionOf(desired: DesiredModule | null): DesiredVersion | null {
  const serving = desired?.versions.filter((v) => v.weight > 0) ?? [];
  return serving.length === 1 && serving[0].weight === 100 ? serving[0] : null;
}

export interface TrafficSplit {
  stable: DesiredVersion;
  canary: DesiredVersion;
  canaryWeight: number;
  /** Move the module's state along with the traffic (the version taking it all imports it). */
  handOff?: { from: string; to: string; id: string };
}

/**
 * The desired state for one split between stable and canary. Other versions of the module (a previous
 * rollout's stable, still warm) keep their place at weight 0; the stable's entry is kept as it is, so its
 * instance is reused rather than reloaded.
 */
export function splitTraffic(current: DesiredModule | null, module: string, split: TrafficSplit): DesiredModule {
  const others = (current?.versions ?? []).filter((v) => v.version !== split.stable.version && v.version !== split.canary.version).map((v) => ({ ...v, weight: 0 }));
  const desired: DesiredModule = {
    ...(current ?? { module }),
    module,
    versions: [...others, { ...split.stable, weight: 100 - split.canaryWeight }, { ...split.canary, weight: split.canaryWeight }],
  };
  if (split.handOff) desired.handOff = split.handOff;
  else delete desired.handOff;
  return desired;
}

/** Every weight on `version`, with `drop` removed from the desired state (the host drains and unloads it). */
export function allTrafficTo(current: DesiredModule | null, module: string, version: DesiredVersion, drop: string | null, handOff?: TrafficSplit['handOff']): DesiredModule {
  const others = (current?.versions ?? []).filter((v) => v.version !== version.version && v.version !== drop).map((v) => ({ ...v, weight: 0 }));
  const desired: DesiredModule = { ...(current ?? { module }), module, versions: [...others, { ...version, weight: 100 }] };
  if (handOff) desired.handOff = handOff;
  else delete desired.handOff;
  return desired;
}

export interface ReportingHost {
  id: string;
  name: string;
  zone: string;
  appliedGeneration: number;
  versions: VersionStatus[];
}

/** Unrevoked hosts that reported recently: the ones a step waits for. An offline host applies the state when it returns. */
export async function onlineHosts(db: Db | DbTransaction, now = Date.now()): Promise<ReportingHost[]> {
  const rows = await db.host.findMany({ where: { revokedAt: null, lastSeenAt: { gte: new Date(now - HOST_OFFLINE_AFTER_MS) } }, orderBy: { name: 'asc' } });
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    zone: row.zone,
    appliedGeneration: row.appliedGeneration,
    versions: row.lastReport ? (JSON.parse(row.lastReport) as VersionStatus[]) : [],
  }));
}

// Unlike the health view (server/fleet/health.ts), a resident instance counts as gone: it takes no traffic and
// never will, so it neither confirms a step nor blocks one.
const LEAVING = new Set(['draining', 'disposed', 'resident']);
const BROKEN = new Set(['failed', 'crashed']);

function currentInstance(host: ReportingHost, module: string, version: string): VersionStatus | undefined {
  return host.versions.filter((v) => v.module === module && v.version === version && !LEAVING.has(v.phase)).at(-1);
}

export interface Confirmation {
  confirmed: boolean;
  /** Hosts not there yet, each with why. */
  waiting: string[];
}

/**
 * Whether every online host runs `desired` (its zone's state in `zones`, when it has one) as of `generation`: the
 * generation applied, each desired version serving at its weight, and nothing else of the module left serving.
 */
export function confirmApplied(
  hosts: readonly ReportingHost[],
  desired: DesiredModule | null,
  module: string,
  generation: number,
  zones: ReadonlyMap<string, DesiredModule> = new Map(),
): Confirmation {
  if (hosts.length === 0) return { confirmed: false, waiting: ['no host is online'] };
  const waiting: string[] = [];
  for (const host of hosts) {
    const wanted = new Map(((zones.get(host.zone) ?? desired)?.versions ?? []).map((v) => [v.version, v.weight]));
    if (host.appliedGeneration < generation) {
      waiting.push(`${host.name}: generation ${host.appliedGeneration} applied, ${generation} wanted`);
      continue;
    }
    for (const [version, weight] of wanted) {
      const status = currentInstance(host, module, version);
      if (!status) waiting.push(`${host.name}: ${version} not loaded`);
      else if (status.phase !== 'serving') waiting.push(`${host.name}: ${version} is ${status.phase}`);
      else if (status.weight !== weight) waiting.push(`${host.name}: ${version} at ${status.weight} %, ${weight} % wanted`);
    }
    for (const status of host.versions) {
      if (status.module === module && !wanted.has(status.version) && !LEAVING.has(status.phase) && status.weight > 0) {
        waiting.push(`${host.name}: ${status.version} still takes ${status.weight} %`);
      }
    }
  }
  return { confirmed: waiting.length === 0, waiting };
}

/**
 * A crash or failed load of `version` that a host reported at or after `since`. A report's statuses are a
 * snapshot: a crashed cell replaced (after 250 ms) before the next report looks healthy in it, but the report
 * still carries the crash as an event.
 */
export async function reportedCrash(tx: DbTransaction, module: string, version: string, since: Date): Promise<string | null> {
  const event = await tx.hostEvent.findFirst({
    // A revoked host's word no longer counts, not even what it said before it was revoked.
    where: { module, version, kind: { in: ['crashed', 'load-failed'] }, time: { gte: since }, host: { revokedAt: null } },
    orderBy: { time: 'asc' },
    include: { host: { select: { name: true } } },
  });
  return event ? `${event.host.name}: ${version} ${event.kind === 'crashed' ? 'crashed' : 'failed'} (${event.message})` : null;
}

/** The canary's health as the hosts see it: a crash or failed load on any host, or probes failing there. */
export function canaryHealth(hosts: readonly ReportingHost[], module: string, version: string): CanaryHealth {
  let crashed: string | null = null;
  let unhealthy: string | null = null;
  for (const host of hosts) {
    const status = host.versions.filter((v) => v.module === module && v.version === version && !LEAVING.has(v.phase)).at(-1);
    if (!status) continue;
    if (BROKEN.has(status.phase)) crashed ??= `${host.name}: ${version} ${status.phase}${status.reason ? ` (${status.reason})` : ''}`;
    else if (status.phase === 'serving' && !status.healthy) unhealthy ??= `${host.name}: ${status.reason ?? 'health probes fail'}`;
  }
  return { crashed, unhealthy };
}
