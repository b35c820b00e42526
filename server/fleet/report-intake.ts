import { appendAuditEvent, type AuditAction } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { config, type ReportBoundsConfig } from '../config';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { HostEvent, HostReport } from '../protocol';
import { reportableVersions } from './desired-history';
import { currentGeneration } from './desired-state';
import type { FleetMetrics } from './metrics-store';
import { boundReport, ReportRefusal } from './report-bounds';
import { reportIntakeOf } from './report-batch';

// What a host's report changes: its row (last seen, applied generation, statuses), its events (stored, and the
// ones that matter also audited, in the same transaction), and the metrics store. Only what report-bounds.ts lets
// through is kept; a refused report changes nothing but the audit trail.

const AUDITED_EVENTS: Partial<Record<HostEvent['kind'], AuditAction>> = {
  crashed: 'host.version_crashed',
  'load-failed': 'host.version_failed',
  'drain-timeout': 'host.drain_timeout',
  resident: 'host.version_resident',
  'hand-off': 'host.state_handed_off',
  serving: 'host.version_loaded',
  disposed: 'host.version_unloaded',
};

// The host's account of what it loaded, beside the registry's: a SHA-256 that differs from the accepted artifact's
// is recorded as such (the host verified other bytes, or lies).
async function artifactDetails(tx: DbTransaction, event: HostEvent) {
  if (!event.artifact || !event.version) return {};
  const registered = await tx.moduleVersion.findFirst({ where: { moduleName: event.module, version: event.version }, select: { sha256: true, signer: { select: { serial: true } } } });
  const { path, sha256, signerSerial, result } = event.artifact;
  return {
    path,
    sha256,
    signerSerial: signerSerial ?? registered?.signer.serial ?? null,
    result,
    sha256MatchesRegistry: registered && sha256 ? sha256 === registered.sha256 : null,
  };
}

export function hostActor(host: { id: string; name: string }): AuditActor {
  return { id: `host:${host.id}`, name: host.name, roles: ['host'] };
}

// A host that keeps sending what is refused (a revoked one retries every second) would otherwise fill the audit
// trail: each host's refusal of one kind is audited at most once a minute, with how many went unrecorded since.
const REFUSAL_AUDIT_EVERY_MS = 60_000;
const lastRefusalAudit = new Map<string, { at: number; suppressed: number }>();

/** Whether this refusal is to be audited now (see above); counts the ones that are not. */
function refusalDue(hostId: string, action: ReportProblem, now: number): { due: boolean; unrecorded: number } {
  const key = `${hostId}\u0000${action}`;
  const last = lastRefusalAudit.get(key);
  if (last && now - last.at < REFUSAL_AUDIT_EVERY_MS) {
    last.suppressed += 1;
    return { due: false, unrecorded: 0 };
  }
  lastRefusalAudit.set(key, { at: now, suppressed: 0 });
  return { due: true, unrecorded: last?.suppressed ?? 0 };
}

type ReportProblem = 'host.report_refused' | 'host.report_items_ignored' | 'host.connection_refused';

/** Audits a refused or partly ignored report inside `tx` (the transaction that keeps the rest, if any). */
export async function auditReportProblem(tx: DbTransaction, host: { id: string; name: string }, action: ReportProblem, details: Record<string, string | number | string[]>, now = Date.now()) {
  const { due, unrecorded } = refusalDue(host.id, action, now);
  if (!due) return;
  await appendAuditEvent(tx, { actor: hostActor(host), action, targetType: 'host', targetId: host.id, details: { ...details, unrecordedSincePrevious: unrecorded } });
}

export async function ingestHostReport(
  db: Db,
  metrics: FleetMetrics,
  host: { id: string; name: string },
  report: HostReport,
  now = new Date(),
  bounds: ReportBoundsConfig = config().reportBounds,
): Promise<{ generation: number; ignored: string[] }> {
  if (report.hostId !== host.id) {
    throw new DomainError(
      DomainErrorCode.InvalidInput,
      `this certificate belongs to host "${host.id}" but the report names "${report.hostId}": start the host with --host-id ${host.id}`,
    );
  }
  let outcome;
  try {
    outcome = await db.$transaction(async (tx) => {
      const row = await tx.host.findUnique({ where: { id: host.id } });
      if (!row || row.revokedAt) throw new DomainError(DomainErrorCode.Unauthenticated, `host "${host.id}" is not registered or was revoked: its reports are refused`);
      const bounded = boundReport(report, bounds, {
        receivedAt: now.getTime(),
        previousReportAt: (row.lastSeenAt ?? row.createdAt).getTime(),
        reportable: await reportableVersions(tx, now, bounds.retiredGraceSeconds),
        hostSeries: metrics.seriesOf(host.id),
      });
      const kept = bounded.report;
      await tx.host.update({
        where: { id: host.id },
        data: { lastSeenAt: now, appliedGeneration: kept.appliedGeneration, processStartedAt: kept.startedAt, lastReport: JSON.stringify(kept.versions) },
      });
      for (const event of kept.events) {
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
          details: { host: host.id, kind: event.kind, message: event.message, time: event.time, ...(await artifactDetails(tx, event)) },
        });
      }
      if (bounded.ignored.length > 0) {
        const reason = 'not in the desired state the fleet was sent, nor left it within the grace period';
        await auditReportProblem(tx, host, 'host.report_items_ignored', { reason, versions: bounded.ignored.slice(0, 20) }, now.getTime());
      }
      return { bounded, generation: await currentGeneration(tx) };
    });
  } catch (error) {
    // The refused report changes nothing, so its audit event is a transaction of its own.
    if (error instanceof ReportRefusal) await db.$transaction((tx) => auditReportProblem(tx, host, 'host.report_refused', { status: error.status, reason: error.message }, now.getTime()));
    throw error;
  }
  const { bounded, generation } = outcome;
  metrics.record(host.id, bounded.report.metrics, now.getTime());
  await metrics.flushRollups(db, now.getTime());
  return { generation, ignored: bounded.ignored };
}

/** The host's row as the fleet listener read it for this request (revocation checked there). */
export interface HostSeen {
  lastSeenAt: Date | null;
  createdAt: Date;
}

/**
 * The fleet listener's intake (docs/fleet.md#report-intake): a report with events, or one with items to ignore
 * (audited), is written at once by ingestHostReport; the common report is bounded the same way, against the
 * cached reportable versions, its metrics recorded at once and its host facts left to the process's batch.
 */
export async function acceptHostReport(
  db: Db,
  metrics: FleetMetrics,
  host: { id: string; name: string },
  report: HostReport,
  seen?: HostSeen,
  now = new Date(),
  bounds: ReportBoundsConfig = config().reportBounds,
): Promise<{ generation: number; ignored: string[] }> {
  const { batch, reportable } = reportIntakeOf(db, metrics);
  if (report.hostId !== host.id || report.events.length > 0) return ingestAtOnce();
  const row = seen ?? (await db.host.findUnique({ where: { id: host.id }, select: { lastSeenAt: true, createdAt: true, revokedAt: true } }));
  if (!row || ('revokedAt' in row && row.revokedAt)) return ingestAtOnce();
  const { generation, reportable: versions } = await reportable.at(now, bounds.retiredGraceSeconds, report.appliedGeneration);
  let bounded;
  try {
    bounded = boundReport(report, bounds, {
      receivedAt: now.getTime(),
      // The newest report received, written or still in the batch.
      previousReportAt: Math.max((row.lastSeenAt ?? row.createdAt).getTime(), batch.pendingSeenAt(host.id) ?? -Infinity),
      reportable: versions,
      hostSeries: metrics.seriesOf(host.id),
    });
  } catch (error) {
    if (error instanceof ReportRefusal) await db.$transaction((tx) => auditReportProblem(tx, host, 'host.report_refused', { status: error.status, reason: error.message }, now.getTime()));
    throw error;
  }
  if (bounded.ignored.length > 0) return ingestAtOnce();
  const kept = bounded.report;
  batch.add(host.id, { lastSeenAt: now, appliedGeneration: kept.appliedGeneration, processStartedAt: kept.startedAt, lastReport: JSON.stringify(kept.versions) });
  metrics.record(host.id, kept.metrics, now.getTime());
  return { generation, ignored: [] };

  // Pending facts are written first, so this report is bounded by the host's newest one and stored after it.
  async function ingestAtOnce() {
    if (batch.pendingSeenAt(host.id) !== undefined) await batch.flush();
    const result = await ingestHostReport(db, metrics, host, report, now, bounds);
    batch.drop(host.id);
    return result;
  }
}
