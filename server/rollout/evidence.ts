import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR } from '../audit/actor';
import { canonicalJson, type JsonObject } from '../audit/canonical-json';
import type { AuditSigner } from '../audit/signing/signer';
import { parsePublicKey, sm3Hex, verifySignature } from '../crypto';
import type { ChangeRequest } from '../db/generated/client';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { combineTotals, EMPTY_TOTALS, errorPercent } from '../fleet/metric-math';
import type { FleetMetrics } from '../fleet/metrics-store';
import { approvalStanding } from './approvals';
import { planOf } from './change-request';
import { changeDigestDocument } from './digest';

// The evidence bundle of a finished rollout: the request, its approvals with their signatures, metric snapshots
// before and after, every analysis decision and the timing of every phase, as canonical JSON signed by the
// console's signer (server/audit/signing/). The audit trail records the bundle's SM3, so neither can change without the other showing it.

export const EVIDENCE_FORMAT = 'hotplane.rollout-evidence/v1';
/** Metric snapshots before the start and after the finish. */
export const EVIDENCE_SNAPSHOTS = 3;

export interface MetricSnapshot {
  from: string;
  to: string;
  versions: { version: string; requests: number; errorPercent: number | null; p50Ms: number; p95Ms: number; p99Ms: number }[];
}

const ms = (micros: number) => Math.round(micros) / 1000;

/** `EVIDENCE_SNAPSHOTS` consecutive windows of `seconds` each, the first starting at epoch second `fromSecond`. */
export function metricSnapshots(metrics: FleetMetrics, module: string, fromSecond: number, seconds: number): MetricSnapshot[] {
  return Array.from({ length: EVIDENCE_SNAPSHOTS }, (_, i) => {
    const from = fromSecond + i * seconds;
    const to = from + seconds - 1;
    const versions = metrics.moduleSeconds(module, from, to).map(({ version, seconds: list }) => {
      const totals = list.reduce((sum, s) => combineTotals(sum, s.totals), { ...EMPTY_TOTALS });
      return { version, requests: totals.requests, errorPercent: errorPercent(totals), p50Ms: ms(totals.p50), p95Ms: ms(totals.p95), p99Ms: ms(totals.p99) };
    });
    return { from: new Date(from * 1000).toISOString(), to: new Date((to + 1) * 1000).toISOString(), versions };
  });
}

/** The three snapshots just before `atMs` (taken when a rollout starts). */
export function snapshotsBefore(metrics: FleetMetrics, module: string, atMs: number, seconds: number) {
  return metricSnapshots(metrics, module, Math.floor(atMs / 1000) - EVIDENCE_SNAPSHOTS * seconds, seconds);
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

async function bundleOf(tx: DbTransaction, row: ChangeRequest, metrics: FleetMetrics, snapshotSeconds: number, now: number) {
  const [approvals, decisions, phases, events] = await Promise.all([
    tx.approval.findMany({ where: { changeRequestId: row.id }, orderBy: { createdAt: 'asc' } }),
    tx.rolloutDecision.findMany({ where: { changeRequestId: row.id }, orderBy: { id: 'asc' } }),
    tx.rolloutPhase.findMany({ where: { changeRequestId: row.id }, orderBy: { id: 'asc' } }),
    tx.auditEvent.findMany({ where: { targetType: 'change-request', targetId: row.id }, orderBy: { seq: 'asc' }, select: { seq: true, action: true, hash: true } }),
  ]);
  const keys = await tx.userSigningKey.findMany({ where: { fingerprint: { in: approvals.map((a) => a.keyFingerprint).filter((f) => f !== null) } } });
  const plan = planOf(row);
  return {
    format: EVIDENCE_FORMAT,
    sealedAt: new Date(now).toISOString(),
    changeRequest: {
      ...changeDigestDocument({ ...row, plan }),
      digest: row.digest,
      state: row.state,
      reason: row.reason,
      ticket: row.ticket,
      requestedBy: row.requestedByName,
      requiredApprovals: row.requiredApprovals,
      createdAt: iso(row.createdAt),
      submittedAt: iso(row.submittedAt),
      approvedAt: iso(row.approvedAt),
      startedAt: iso(row.startedAt),
      promotedAt: iso(row.promotedAt),
      finishedAt: iso(row.finishedAt),
      outcome: row.outcome ? (JSON.parse(row.outcome) as JsonObject) : null,
    },
    approvals: approvals.map((a) => ({
      approver: a.approverName,
      decision: a.decision,
      revision: a.revision,
      digest: a.digest,
      signature: a.signatureHex,
      keyFingerprint: a.keyFingerprint,
      publicKeyPem: keys.find((k) => k.fingerprint === a.keyFingerprint)?.publicKeyPem ?? null,
      reason: a.reason,
      createdAt: iso(a.createdAt),
      expiresAt: iso(a.expiresAt),
      standingAtStart: row.startedAt ? approvalStanding(a, row, row.startedAt.getTime()) : null,
    })),
    metricsBefore: row.metricsBefore ? (JSON.parse(row.metricsBefore) as MetricSnapshot[]) : [],
    metricsAfter: metricSnapshots(metrics, row.module, Math.floor(row.finishedAt!.getTime() / 1000), snapshotSeconds),
    decisions: decisions.map((d) => ({
      id: d.id,
      step: d.stepIndex + 1,
      time: iso(d.time),
      verdict: d.verdict,
      metric: d.metric,
      checks: JSON.parse(d.checks) as JsonObject[],
      window: { from: iso(d.windowFrom), to: iso(d.windowTo) },
      canaryRequests: d.canaryRequests,
      stableRequests: d.stableRequests,
    })),
    phases: phases.map((p) => ({
      kind: p.kind,
      step: p.stepIndex === null ? null : p.stepIndex + 1,
      weight: p.weight,
      generation: p.generation,
      startedAt: iso(p.startedAt),
      confirmedAt: iso(p.confirmedAt),
      endedAt: iso(p.endedAt),
      confirmMs: p.confirmedAt ? p.confirmedAt.getTime() - p.startedAt.getTime() : null,
      durationMs: p.endedAt ? p.endedAt.getTime() - p.startedAt.getTime() : null,
      result: p.result,
      detail: p.detail,
    })),
    auditEvents: events,
  };
}

/** Builds, signs and stores the bundle, and records its SM3 in the audit trail, in one transaction. */
export async function sealEvidence(db: Db, id: string, deps: { metrics: FleetMetrics; consoleKey: () => AuditSigner; snapshotSeconds: number; now?: number }) {
  const key = deps.consoleKey();
  return db.$transaction(async (tx) => {
    const row = await tx.changeRequest.findUniqueOrThrow({ where: { id } });
    if (!row.evidenceDueAt || !row.finishedAt) return null;
    const now = deps.now ?? Date.now();
    const content = canonicalJson(await bundleOf(tx, row, deps.metrics, deps.snapshotSeconds, now));
    const sm3 = sm3Hex(content);
    const signatureHex = Buffer.from(key.sign(Buffer.from(content))).toString('hex');
    const bundle = await tx.evidenceBundle.create({
      data: { id: randomUUID(), changeRequestId: id, createdAt: new Date(now), content, sm3, signatureHex, keyFingerprint: key.fingerprint },
    });
    await tx.changeRequest.update({ where: { id }, data: { evidenceDueAt: null } });
    await appendAuditEvent(tx, {
      actor: SYSTEM_ACTOR,
      action: 'rollout.evidence_sealed',
      targetType: 'change-request',
      targetId: id,
      details: { evidenceId: bundle.id, sm3, keyFingerprint: key.fingerprint, algorithm: key.algorithm, state: row.state },
    });
    return bundle;
  });
}

/** The download: the exact signed text with its digest, signature and the console's public key. */
export async function evidenceDownload(db: Db, evidenceId: string, publicKeyPem: string) {
  const bundle = await db.evidenceBundle.findUnique({ where: { id: evidenceId } });
  if (!bundle) throw new DomainError(DomainErrorCode.NotFound, 'no such evidence bundle');
  return { format: EVIDENCE_FORMAT, changeRequestId: bundle.changeRequestId, content: bundle.content, sm3: bundle.sm3, signature: bundle.signatureHex, keyFingerprint: bundle.keyFingerprint, publicKeyPem };
}

/** Checks a download offline: the digest, and the console's signature over the content. */
export function verifyEvidence(download: { content: string; sm3: string; signature: string; publicKeyPem: string }) {
  if (sm3Hex(download.content) !== download.sm3) return { ok: false, message: 'the content does not match its SM3' };
  const verdict = verifySignature({ message: Buffer.from(download.content), signature: Buffer.from(download.signature, 'hex'), key: parsePublicKey(download.publicKeyPem) });
  return verdict.ok ? { ok: true, message: 'signed by the console key' } : { ok: false, message: verdict.message };
}
