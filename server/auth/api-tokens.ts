import { randomBytes, randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { API_TOKEN_PREFIX, hashApiToken } from './token-hash';

// The token is shown once; only its SHA-256 is kept, so a database leak does not leak working tokens.
export async function createApiToken(db: Db, actor: AuditActor, name: string) {
  const token = `${API_TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
  const row = await db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: { id: randomUUID(), userId: actor.id, name, prefix: token.slice(0, 8), tokenHash: hashApiToken(token) },
    });
    await appendAuditEvent(tx, { actor, action: 'apitoken.created', targetType: 'apitoken', targetId: created.id, details: { name, prefix: created.prefix } });
    return created;
  });
  return { id: row.id, name: row.name, token };
}

export async function listApiTokens(db: Db, userId: string) {
  const rows = await db.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return rows.map((r) => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt, revokedAt: r.revokedAt }));
}

export async function revokeApiToken(db: Db, actor: AuditActor, tokenId: string) {
  await db.$transaction(async (tx) => {
    const token = await tx.apiToken.findUnique({ where: { id: tokenId } });
    if (!token || token.userId !== actor.id) throw new DomainError(DomainErrorCode.NotFound, 'no such token of yours; reload the list');
    if (token.revokedAt) return;
    await tx.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date() } });
    await appendAuditEvent(tx, { actor, action: 'apitoken.revoked', targetType: 'apitoken', targetId: tokenId, details: { name: token.name } });
  });
}
