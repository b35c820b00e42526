import type { VersionStatus } from '../protocol';

// Health of a desired version across the fleet, from the hosts' latest reports. Worst wins, and the reason
// names the host and says why, so the page can answer "why not healthy" without a second look.

export const HOST_OFFLINE_AFTER_MS = 10_000;

export type HealthState = 'healthy' | 'starting' | 'pending' | 'unhealthy' | 'failing' | 'unknown';
export interface Health {
  state: HealthState;
  reason?: string;
}

export interface ReportingHost {
  name: string;
  online: boolean;
  appliedGeneration: number;
  versions: VersionStatus[];
}

const SEVERITY: HealthState[] = ['healthy', 'starting', 'pending', 'unknown', 'unhealthy', 'failing'];
const LEAVING = new Set(['draining', 'disposed']);
const STARTING = new Set(['loading', 'initialized', 'self-tested']);

export function worstHealth(all: Health[]): Health {
  return all.reduce<Health>((worst, h) => (SEVERITY.indexOf(h.state) > SEVERITY.indexOf(worst.state) ? h : worst), { state: 'healthy' });
}

// A host may hold two instances of one version while it replaces one (say, inproc → process); the one not
// leaving is the one that counts.
function currentInstance(host: ReportingHost, module: string, version: string): VersionStatus | undefined {
  return host.versions.filter((v) => v.module === module && v.version === version && !LEAVING.has(v.phase)).at(-1);
}

function onHost(host: ReportingHost, module: string, version: string, generation: number): Health {
  const status = currentInstance(host, module, version);
  if (!status) {
    return host.appliedGeneration < generation
      ? { state: 'pending', reason: `${host.name} has not applied generation ${generation} yet` }
      : { state: 'failing', reason: `${host.name} does not run it` };
  }
  const why = status.reason ? `: ${status.reason}` : '';
  if (status.phase === 'failed' || status.phase === 'crashed' || status.phase === 'resident') {
    return { state: 'failing', reason: `${host.name}: ${status.phase}${why}` };
  }
  if (STARTING.has(status.phase)) return { state: 'starting', reason: `${host.name}: ${status.phase}` };
  if (!status.healthy) return { state: 'unhealthy', reason: `${host.name}${why || ': probes fail'}` };
  return { state: 'healthy' };
}

export function versionHealth(hosts: ReportingHost[], module: string, version: string, generation: number): Health {
  const online = hosts.filter((h) => h.online);
  if (online.length === 0) return { state: 'unknown', reason: `no host has reported in the last ${HOST_OFFLINE_AFTER_MS / 1000} s` };
  return worstHealth(online.map((host) => onHost(host, module, version, generation)));
}
