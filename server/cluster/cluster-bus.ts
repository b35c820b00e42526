import { config } from '../config';
import { db } from '../db/client';
import { InProcessBus, PostgresBus, type ClusterBus, type ClusterEvent } from './bus';

// The console process's one bus, on the database it uses.
const holder = globalThis as unknown as { hotplaneClusterBus?: ClusterBus };

export function clusterBus(): ClusterBus {
  if (!holder.hotplaneClusterBus) {
    const url = config().databaseUrl;
    holder.hotplaneClusterBus = /^postgres(ql)?:\/\//.test(url)
      ? new PostgresBus(url, (channel, text) => db().$executeRaw`SELECT pg_notify(${channel}, ${text})`)
      : new InProcessBus();
  }
  return holder.hotplaneClusterBus;
}

export interface HostRevokedEvent {
  hostId: string;
  serials: string[];
}

/** Called on every replica when any replica revoked a host (its certificates' serials, for the deny-list). */
export function onHostRevoked(handler: (event: HostRevokedEvent & { origin: string }) => void): () => void {
  return clusterBus().subscribe('host_revoked', (event: ClusterEvent) => {
    if (event.resync) return;
    handler({ hostId: String(event.hostId), serials: Array.isArray(event.serials) ? event.serials.map(String) : [], origin: event.origin });
  });
}
