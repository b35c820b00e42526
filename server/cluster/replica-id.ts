import { randomBytes } from 'node:crypto';
import os from 'node:os';

// Who this console process is among the replicas: readable in the audit trail (host name and pid) and unique even
// when a process restarts with the same pid.
const holder = globalThis as unknown as { hotplaneReplicaId?: string };

export function replicaId(): string {
  holder.hotplaneReplicaId ??= `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  return holder.hotplaneReplicaId;
}
