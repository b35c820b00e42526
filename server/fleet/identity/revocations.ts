import { EventEmitter } from 'node:events';

// Revocations announced in this process reach the fleet listener at once (it cuts the host's sockets); other
// replicas learn them from the database within a second (fleet-listener.ts refreshes its deny-list).
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
