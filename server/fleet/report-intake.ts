import { appendAuditEvent, type AuditAction } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { HostEvent, HostReport } from '../host/types';
import { currentGeneration } from './desired-state';
import type { FleetMetrics } from './metrics-store';

// What a host's report changes: its row (last seen, applied generation, statuses), its events (stored, and the
// ones that matter also audited, in the same transaction), and the metrics store.

const AUDITED_EVENTS: Partial<Record<HostEvent['kind'], AuditAction>> = {
  crashed: 'host.version_crashed',
  'load-failed': 'host.version_failed',
  'drain-timeout': 'host.drain_timeout',
  resident: 'host.version_resident',
  'hand-off': 'host.state_handed_off',
};

export function hostActor(host: { id: string; name: string }): AuditActor {
  return { id: `host:${host.id}`, name: host.name, roles: ['host'] };
}

export async function ingestHostReport(
  db: Db,
  metrics: FleetMetrics,
  host: { id: string; name: string },
  report: HostReport,
  now = new Date(),
): Promise<{ generation: number }> {
  if (report.hostId !== host.id) {
    throw new DomainError(
      DomainErrorCode.InvalidInput,
      `this token belongs to host "${host.id}" but the report names "${report.hostId}": start the host with --host-id ${host.id}`,
    );
  }
  const generation = await db.$transaction(async (tx) => {
    await tx.host.update({
      where: { id: host.id },
      data: {
        lastSeenAt: now,
        appliedGeneration: report.appliedGeneration,
        processStartedAt: report.startedAt,
        lastReport: JSON.stringify(report.versions),
      },
    });
    for (const event of report.events) {
      await tx.hostEvent.create({
        data: { hostId: host.id, time: new Date(event.time), module: event.module, version: event.version ?? null, kind: event.kind, message: event.message },
      });
      const action = AUDITED_EVENTS[event.kind];
      if (!action) continue;
      await appendAuditEvent(tx, {
        actor: hostActor(host),
        action,
        targetType: event.version ? 'module-version' : 'module',
        targetId: event.version ? `${event.module}@${event.version}` : event.module,
        details: { host: host.id, kind: event.kind, message: event.message, time: event.time },
      });
    }
    return currentGeneration(tx);
  });
  metrics.record(host.id, report.metrics, now.getTime());
  await metrics.flushRollups(db, now.getTime());
  return { generation };
}
