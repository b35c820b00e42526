import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { hashHostToken, hostTokenFromHeaders, newHostToken } from './host-tokens';
import { fleetMetrics, type FleetMetrics } from './metrics-store';
import { mkdirPrivate } from '../secrets-at-rest';
import { DEFAULT_ZONE, groupName, zoneName } from './zone-name';

export const EMBEDDED_HOST_ID = 'embedded';

// The name is also the id the host reports itself as (`--host-id`), so it must be safe on a command line.
export const registerHostInput = z.object({
  name: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a host name is 1-63 characters of a-z, 0-9 and "-", starting with a letter or digit'),
  address: z.url('the address is a URL such as http://10.0.0.5:7400').max(200).optional(),
  zone: zoneName.default(DEFAULT_ZONE),
  group: groupName.optional(),
});
export type RegisterHostInput = z.input<typeof registerHostInput>;

async function issueHostToken(db: Db, actor: AuditActor, host: { id: string; address?: string; zone?: string; group?: string }, replaceActive: boolean) {
  const token = newHostToken();
  await db.$transaction(async (tx) => {
    const existing = await tx.host.findUnique({ where: { id: host.id } });
    if (existing && !existing.revokedAt && !replaceActive) {
      throw new DomainError(DomainErrorCode.Conflict, `a host named "${host.id}" is registered already; revoke it first to issue a new token`);
    }
    const tokenHash = hashHostToken(token);
    await tx.host.upsert({
      where: { id: host.id },
      create: { id: host.id, name: host.id, tokenHash, address: host.address ?? null, zone: host.zone ?? DEFAULT_ZONE, group: host.group ?? null },
      update: { tokenHash, revokedAt: null, address: host.address ?? existing?.address ?? null, ...(host.zone ? { zone: host.zone } : {}), ...(host.group ? { group: host.group } : {}) },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'host.registered',
      targetType: 'host',
      targetId: host.id,
      details: { address: host.address ?? null, zone: host.zone ?? existing?.zone ?? DEFAULT_ZONE, group: host.group ?? existing?.group ?? null, reissued: Boolean(existing) },
    });
  });
  return token;
}

// The token is returned once; only its SHA-256 is kept.
export async function registerHost(db: Db, actor: AuditActor, raw: RegisterHostInput) {
  const input = registerHostInput.parse(raw);
  if (input.name === EMBEDDED_HOST_ID) {
    throw new DomainError(DomainErrorCode.InvalidInput, `"${EMBEDDED_HOST_ID}" is the console's own host; choose another name`);
  }
  const token = await issueHostToken(db, actor, { id: input.name, address: input.address, zone: input.zone, group: input.group }, false);
  return { id: input.name, name: input.name, zone: input.zone, token };
}

// Its in-memory metrics go with it; what it said before stays in the rollups and its events, but counts nowhere.
export async function revokeHost(db: Db, actor: AuditActor, hostId: string, metrics: FleetMetrics = fleetMetrics()) {
  if (hostId === EMBEDDED_HOST_ID) {
    throw new DomainError(DomainErrorCode.InvalidInput, 'the embedded host belongs to this console: switch it off with HOTPLANE_EMBEDDED_HOST=0 instead');
  }
  await db.$transaction(async (tx) => {
    const host = await tx.host.findUnique({ where: { id: hostId } });
    if (!host) throw new DomainError(DomainErrorCode.NotFound, `no host "${hostId}"; reload the list`);
    if (host.revokedAt) return;
    await tx.host.update({ where: { id: hostId }, data: { revokedAt: new Date() } });
    await appendAuditEvent(tx, { actor, action: 'host.revoked', targetType: 'host', targetId: hostId, details: { lastSeenAt: host.lastSeenAt?.toISOString() ?? null } });
  });
  metrics.forgetHost(hostId);
}

export async function authenticateHost(db: Db, headers: Headers) {
  const token = hostTokenFromHeaders(headers);
  if (!token) return null;
  const host = await db.host.findUnique({ where: { tokenHash: hashHostToken(token) } });
  return host && !host.revokedAt ? host : null;
}

/** The revoked host a token belonged to, or null: its requests are refused like any unknown token's, but said so. */
export async function revokedHostOf(db: Db, headers: Headers) {
  const token = hostTokenFromHeaders(headers);
  if (!token) return null;
  const host = await db.host.findUnique({ where: { tokenHash: hashHostToken(token) } });
  return host?.revokedAt ? host : null;
}

// The embedded host's token lives beside its data (0600) so a console restart reuses it; a missing, unreadable
// or stale file gets a fresh token.
export async function ensureEmbeddedHostToken(db: Db, tokenFile: string, address: string): Promise<string> {
  const saved = (await readFile(tokenFile, 'utf8').catch(() => '')).trim();
  if (saved) {
    const row = await db.host.findUnique({ where: { id: EMBEDDED_HOST_ID } });
    if (row && !row.revokedAt && row.tokenHash === hashHostToken(saved)) {
      // The host refuses a token file others can read; an old file is brought back to 0600.
      await chmod(tokenFile, 0o600);
      return saved;
    }
  }
  const token = await issueHostToken(db, SYSTEM_ACTOR, { id: EMBEDDED_HOST_ID, address }, true);
  mkdirPrivate(path.dirname(tokenFile));
  const temp = `${tokenFile}.tmp-${process.pid}`;
  await writeFile(temp, `${token}\n`, { mode: 0o600 });
  await rename(temp, tokenFile);
  return token;
}
