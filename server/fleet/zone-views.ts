import type { DesiredModule, VersionStatus } from '../protocol';
import { HOST_OFFLINE_AFTER_MS, versionHealth } from './health';
import type { HostHealth, HostLag, ModuleZone, ZoneHost } from './zone-views.types';

// Per-host and per-zone read models: which hosts lag, how each host is, and what each zone of a module runs.

export interface GenerationClock {
  generation: number;
  /** When the generation last rose. */
  since: Date;
  lagMs: number;
}

interface HostFacts {
  revokedAt: Date | null;
  lastSeenAt: Date | null;
  appliedGeneration: number;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** Silent past the offline limit, or behind a generation that rose more than `lagMs` ago. */
export function hostLag(host: HostFacts, clock: GenerationClock, now: number): HostLag {
  if (host.revokedAt) return { lagging: false, reason: null };
  if (!host.lastSeenAt) return { lagging: true, reason: 'never reported' };
  const silent = now - host.lastSeenAt.getTime();
  if (silent >= HOST_OFFLINE_AFTER_MS) return { lagging: true, reason: `silent for ${seconds(silent)}` };
  const behindFor = now - clock.since.getTime();
  if (host.appliedGeneration < clock.generation && behindFor >= clock.lagMs) {
    return { lagging: true, reason: `generation ${host.appliedGeneration} applied, ${clock.generation} wanted for ${seconds(behindFor)}` };
  }
  return { lagging: false, reason: null };
}

/** The worst of the host's own versions, as its last report has them. */
export function hostHealth(host: HostFacts & { online: boolean }, versions: readonly VersionStatus[]): HostHealth {
  if (host.revokedAt) return 'revoked';
  if (!host.online) return 'offline';
  const current = versions.filter((v) => v.phase !== 'draining' && v.phase !== 'disposed');
  if (current.some((v) => v.phase === 'failed' || v.phase === 'crashed' || v.phase === 'resident')) return 'failing';
  if (current.some((v) => v.phase === 'serving' && !v.healthy)) return 'unhealthy';
  if (current.some((v) => v.phase !== 'serving')) return 'starting';
  return 'healthy';
}

/** Per zone: the versions and weights it is sent, their health on its hosts, and which of them lag. */
export function moduleZones(module: string, fleet: DesiredModule | null, own: ReadonlyMap<string, DesiredModule>, hosts: readonly (ZoneHost & { zone: string })[], generation: number): ModuleZone[] {
  const zones = [...new Set([...hosts.map((h) => h.zone), ...own.keys()])].sort();
  return zones.map((zone) => {
    const desired = own.get(zone) ?? fleet;
    const inZone = hosts.filter((h) => h.zone === zone);
    return {
      zone,
      ownState: own.has(zone),
      versions: desired?.versions ?? [],
      health: (desired?.versions ?? []).map((v) => ({ version: v.version, ...versionHealth(inZone, module, v.version, generation) })),
      hosts: inZone.map((h) => ({ id: h.id, name: h.name, group: h.group, online: h.online, appliedGeneration: h.appliedGeneration, lastSeenAt: h.lastSeenAt, lag: h.lag, versions: h.versions.filter((v) => v.module === module) })),
      lagging: inZone.filter((h) => h.lag.lagging).map((h) => h.name),
    };
  });
}
