import { EventEmitter } from 'node:events';

// Revocations announced in this process reach the fleet listener at once (it cuts the host's sockets); other
// replicas hear them on the cluster bus, and refresh their deny-list from the database every second regardless.
// One emitter per process on globalThis: Next may load this module more than once (route bundles, instrumentation).

export interface Revocation {
  hostId: string;
  serials: string[];
}

const holder = globalThis as unknown as { hotplaneRevocations?: EventEmitter };
const emitter = () => (holder.hotplaneRevocations ??= new EventEmitter().setMaxListeners(0));

export function announceRevocation(revocation: Revocation) {
  emitter().emit('revoked', revocation);
}

export function onRevocation(listener: (revocation: Revocation) => void): () => void {
  emitter().on('revoked', listener);
  return () => emitter().off('revoked', listener);
}
