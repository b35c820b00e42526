import type { DesiredVersion, VersionStatus } from '../protocol';
import type { Health } from './health';

// What the Hosts page and the module page show per host and per zone (server/fleet/zone-views.ts).

export interface HostLag {
  lagging: boolean;
  /** Why it is marked: silent for how long, or how far and how long behind. */
  reason: string | null;
}

export type HostHealth = 'healthy' | 'unhealthy' | 'failing' | 'starting' | 'offline' | 'revoked';

export interface ZoneHost {
  id: string;
  name: string;
  group: string | null;
  online: boolean;
  appliedGeneration: number;
  lastSeenAt: Date | string | null;
  lag: HostLag;
  versions: VersionStatus[];
}

export interface ModuleZone {
  zone: string;
  /** The zone runs its own state (a rollout in waves), not the fleet-wide one. */
  ownState: boolean;
  versions: DesiredVersion[];
  health: ({ version: string } & Health)[];
  hosts: ZoneHost[];
  lagging: string[];
}
