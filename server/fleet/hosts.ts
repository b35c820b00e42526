import { chmod, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { mkdirPrivate } from '../secrets-at-rest';
import { hashJoinToken, newJoinToken } from './host-tokens';
import { clusterBus } from '../cluster/cluster-bus';
import { announceRevocation } from './identity/revocations';
import { fleetMetrics, type FleetMetrics } from './metrics-store';
import { DEFAULT_ZONE, groupName, zoneName } from './zone-name';

export const EMBEDDED_HOST_ID = 'embedded';
export const DEFAULT_JOIN_TOKEN_MINUTES = 60;

// The name is also the host's identity: its certificate's URI SAN is spiffe://<trust domain>/host/<name>.
export const registerHostInput = z.object({
  name: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a host name is 1-63 characters of a-z, 0-9 and "-", starting with a letter or digit'),
  address: z.url('the address is a URL such as http://10.0.0.5:7400').max(200).optional(),
  // Placement is the admin's word at enrolment, never the host's.
  zone: zoneName.default(DEFAULT_ZONE),
  group: groupName.optional(),
});
export type RegisterHostInput = z.input<typeof registerHostInput>;

interface JoinTokenIssue {
  id: string;
  address?: string;
  zone?: string;
  group?: string;
  /** The embedded host gets a fresh token at every start, its unused predecessors withdrawn. */
  replaceActive: boolean;
  minutes: number;
}

async function issueJoinToken(db: Db, actor: AuditActor, host: JoinTokenIssue) {
  const joinToken = newJoinToken();
  const expiresAt = new Date(Date.now() + host.minutes * 60_000);
  await db.$transaction(async (tx) => {
    const existing = await tx.host.findUnique({ where: { id: host.id } });
    if (existing && !existing.revokedAt && !host.replaceActive) {
      throw new DomainError(DomainErrorCode.Conflict, `a host named "${host.id}" is registered already; revoke it first to enrol it again`);
    }
    await tx.host.upsert({
      where: { id: host.id },
      create: { id: host.id, name: host.id, address: host.address ?? null, zone: host.zone ?? DEFAULT_ZONE, group: host.group ?? null },
      update: { address: host.address ?? existing?.address ?? null, ...(host.zone ? { zone: host.zone } : {}), ...(host.group ? { group: host.group } : {}) },
    });
    await tx.hostJoinToken.deleteMany({ where: { hostId: host.id, usedAt: null } });
    await tx.hostJoinToken.create({ data: { tokenHash: hashJoinToken(joinToken), hostId: host.id, expiresAt } });
    await appendAuditEvent(tx, {
      actor,
      action: 'host.join_token_created',
      targetType: 'host',
      targetId: host.id,
      details: { address: host.address ?? null, zone: host.zone ?? existing?.zone ?? DEFAULT_ZONE, group: host.group ?? existing?.group ?? null, expiresAt: expiresAt.toISOString(), reissued: Boolean(existing) },
    });
  });
  return { joinToken, expiresAt };
}

// The join token is returned once; only its SHA-256 is kept. It enrols the host once, within `minutes`.
export async function registerHost(db: Db, actor: AuditActor, raw: RegisterHostInput, minutes = DEFAULT_JOIN_TOKEN_MINUTES) {
  const input = registerHostInput.parse(raw);
  if (input.name === EMBEDDED_HOST_ID) {
    throw new DomainError(DomainErrorCode.InvalidInput, `"${EMBEDDED_HOST_ID}" is the console's own host; choose another name`);
  }
  const { joinToken, expiresAt } = await issueJoinToken(db, actor, { id: input.name, address: input.address, zone: input.zone, group: input.group, replaceActive: false, minutes });
  return { id: input.name, name: input.name, zone: input.zone, joinToken, expiresAt };
}

// Every certificate of the host is revoked with it, and its open connections are cut at once (fleet-listener.ts);
// its in-memory metrics go with it. What it said before stays in the rollups and its events, but counts nowhere.
export async function revokeHost(db: Db, actor: AuditActor, hostId: string, metrics: FleetMetrics = fleetMetrics()) {
  if (hostId === EMBEDDED_HOST_ID) {
    throw new DomainError(DomainErrorCode.InvalidInput, 'the embedded host belongs to this console: switch it off with HOTPLANE_EMBEDDED_HOST=0 instead');
  }
  let serials: string[] = [];
  await db.$transaction(async (tx) => {
    const host = await tx.host.findUnique({ where: { id: hostId } });
    if (!host) throw new DomainError(DomainErrorCode.NotFound, `no host "${hostId}"; reload the list`);
    const now = new Date();
    serials = (await tx.hostCertificate.findMany({ where: { hostId, revokedAt: null }, select: { serial: true } })).map((c) => c.serial);
    if (host.revokedAt && serials.length === 0) return;
    await tx.host.update({ where: { id: hostId }, data: { revokedAt: host.revokedAt ?? now } });
    await tx.hostCertificate.updateMany({ where: { hostId, revokedAt: null }, data: { revokedAt: now } });
    await tx.hostJoinToken.deleteMany({ where: { hostId, usedAt: null } });
    await appendAuditEvent(tx, {
      actor,
      action: 'host.revoked',
      targetType: 'host',
      targetId: hostId,
      details: { lastSeenAt: host.lastSeenAt?.toISOString() ?? null, certificates: serials },
    });
    // Every other replica cuts the host's connections when this commits (its listener hears the bus).
    await clusterBus().publish(tx, 'host_revoked', { hostId, serials });
  });
  announceRevocation({ hostId, serials });
  metrics.forgetHost(hostId);
}

/**
 * A fresh join token for the embedded host, written where its process reads it (0600, `--join-token-file`). It is
 * used only when the host has no valid certificate; otherwise it expires unused.
 */
export async function writeEmbeddedJoinToken(db: Db, tokenFile: string, address: string, minutes = DEFAULT_JOIN_TOKEN_MINUTES): Promise<void> {
  const { joinToken } = await issueJoinToken(db, SYSTEM_ACTOR, { id: EMBEDDED_HOST_ID, address, replaceActive: true, minutes });
  mkdirPrivate(path.dirname(tokenFile));
  const temp = `${tokenFile}.tmp-${process.pid}`;
  await writeFile(temp, `${joinToken}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, tokenFile);
}
