import { appendAuditEvent } from '../../audit/append';
import type { AuditActor } from '../../audit/actor';
import type { Db } from '../../db/client';
import { DomainError, DomainErrorCode } from '../../errors';
import { hashJoinToken, JOIN_TOKEN_PREFIX } from '../host-tokens';
import { hostActor } from '../report-intake';
import { CsrRefusal, DEFAULT_HOST_CERT_HOURS, issueHostCertificate, type FleetCa, type IssuedCertificate } from './ca';

// Enrolment and renewal (docs/fleet.md#host-identity): a join token buys one certificate for the host it was
// created for; a valid certificate buys its successor. The CSR only carries the host's public key.

export interface EnrolmentRequest {
  joinToken: string;
  csr: string;
}

export interface HostCertificateGrant {
  hostId: string;
  certificate: string;
  caCertificate: string;
  serial: string;
  notAfter: string;
}

const ENROLMENT_ACTOR: AuditActor = { id: 'enrolment', name: 'unauthenticated enrolment request', roles: [] };

// The enrolment route answers anyone: someone guessing tokens must not be able to flood the audit trail, so each
// (address, host) pair's refusals are audited at most once a minute, with how many went unrecorded since.
const REFUSAL_AUDIT_EVERY_MS = 60_000;
const MAX_TRACKED_REFUSALS = 10_000;
const lastRefusal = new Map<string, { at: number; unrecorded: number }>();

function refusalDue(key: string, now: number): { due: boolean; unrecorded: number } {
  const last = lastRefusal.get(key);
  if (last && now - last.at < REFUSAL_AUDIT_EVERY_MS) {
    last.unrecorded += 1;
    return { due: false, unrecorded: 0 };
  }
  if (lastRefusal.size >= MAX_TRACKED_REFUSALS) {
    for (const [k, v] of lastRefusal) if (now - v.at >= REFUSAL_AUDIT_EVERY_MS) lastRefusal.delete(k);
  }
  lastRefusal.set(key, { at: now, unrecorded: 0 });
  return { due: true, unrecorded: last?.unrecorded ?? 0 };
}

// A refusal is audited in its own transaction (nothing else changes) and answered 401 with what to do.
async function refuse(db: Db, hostId: string | null, reason: string, remote: string | undefined): Promise<never> {
  const targetId = hostId ?? 'unknown';
  const { due, unrecorded } = refusalDue(`${remote ?? '?'} ${targetId}`, Date.now());
  if (due) {
    await db.$transaction((tx) =>
      appendAuditEvent(tx, {
        actor: ENROLMENT_ACTOR,
        action: 'host.enrolment_refused',
        targetType: 'host',
        targetId,
        details: { reason, remote: remote ?? null, unrecordedSincePrevious: unrecorded },
      }),
    );
  }
  throw new DomainError(DomainErrorCode.Unauthenticated, reason);
}

async function certify(ca: FleetCa, hostId: string, csr: string, hours: number): Promise<IssuedCertificate> {
  try {
    return await issueHostCertificate(ca, hostId, csr, hours);
  } catch (error) {
    if (error instanceof CsrRefusal) throw new DomainError(DomainErrorCode.InvalidInput, error.message);
    throw error;
  }
}

const grantOf = (ca: FleetCa, hostId: string, issued: IssuedCertificate): HostCertificateGrant => ({
  hostId,
  certificate: issued.pem,
  caCertificate: ca.certificatePem,
  serial: issued.serial,
  notAfter: issued.notAfter.toISOString(),
});

export async function enrolHost(db: Db, ca: FleetCa, request: EnrolmentRequest, options: { hours?: number; remote?: string } = {}): Promise<HostCertificateGrant> {
  const hours = options.hours ?? DEFAULT_HOST_CERT_HOURS;
  if (!request.joinToken.startsWith(JOIN_TOKEN_PREFIX)) {
    return refuse(db, null, `that is not a join token (they start with ${JOIN_TOKEN_PREFIX}): ask an admin for one (Hosts → Register host)`, options.remote);
  }
  const tokenHash = hashJoinToken(request.joinToken);
  const token = await db.hostJoinToken.findUnique({ where: { tokenHash } });
  if (!token) return refuse(db, null, 'unknown join token: ask an admin for a new one (Hosts → Register host)', options.remote);
  if (token.usedAt) return refuse(db, token.hostId, `this join token was used at ${token.usedAt.toISOString()} and works once: ask an admin for a new one`, options.remote);
  if (token.expiresAt.getTime() <= Date.now()) {
    return refuse(db, token.hostId, `this join token expired at ${token.expiresAt.toISOString()}: ask an admin for a new one`, options.remote);
  }
  // Signed before the transaction (no database lock held over crypto); a CSR that fails leaves the token unused.
  const issued = await certify(ca, token.hostId, request.csr, hours);
  const claimed = await db.$transaction(async (tx) => {
    // Two requests racing with one token: the conditional update lets exactly one through.
    const { count } = await tx.hostJoinToken.updateMany({ where: { tokenHash, usedAt: null }, data: { usedAt: new Date() } });
    if (count !== 1) return false;
    await tx.host.update({ where: { id: token.hostId }, data: { revokedAt: null } });
    await tx.hostCertificate.create({ data: { serial: issued.serial, hostId: token.hostId, notBefore: issued.notBefore, notAfter: issued.notAfter } });
    await appendAuditEvent(tx, {
      actor: hostActor({ id: token.hostId, name: token.hostId }),
      action: 'host.enrolled',
      targetType: 'host',
      targetId: token.hostId,
      details: { serial: issued.serial, notAfter: issued.notAfter.toISOString(), remote: options.remote ?? null },
    });
    return true;
  });
  if (!claimed) return refuse(db, token.hostId, 'this join token was used a moment ago and works once: ask an admin for a new one', options.remote);
  return grantOf(ca, token.hostId, issued);
}

/** A new certificate for an authenticated host (its current certificate is checked by the listener). */
export async function renewHostCertificate(db: Db, ca: FleetCa, hostId: string, csr: string, hours = DEFAULT_HOST_CERT_HOURS): Promise<HostCertificateGrant> {
  const issued = await certify(ca, hostId, csr, hours);
  await db.$transaction(async (tx) => {
    await tx.hostCertificate.create({ data: { serial: issued.serial, hostId, notBefore: issued.notBefore, notAfter: issued.notAfter } });
    await appendAuditEvent(tx, {
      actor: hostActor({ id: hostId, name: hostId }),
      action: 'host.certificate_renewed',
      targetType: 'host',
      targetId: hostId,
      details: { serial: issued.serial, notAfter: issued.notAfter.toISOString() },
    });
  });
  return grantOf(ca, hostId, issued);
}

/** Serials revoked and not yet expired: the deny-list every fleet connection is checked against. */
export async function revokedSerials(db: Db): Promise<Set<string>> {
  const rows = await db.hostCertificate.findMany({ where: { revokedAt: { not: null }, notAfter: { gt: new Date() } }, select: { serial: true } });
  return new Set(rows.map((r) => r.serial));
}
