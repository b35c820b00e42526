import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { KeyError, parsePublicKey, type ParsedPublicKey } from '../crypto';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { voidApprovalsSignedWith } from './approvals';

// Each person's SM2 public key for approvals, registered on their profile. The private key never reaches the
// console: the browser (sm-crypto) or `hotplane approve` signs locally.

export const registerKeyInput = z.object({
  publicKey: z.string().trim().min(1, 'paste your SM2 public key (PEM, or hex 04‖x‖y)').max(4000),
  label: z.string().trim().min(1, 'name the key, e.g. "laptop 2026"').max(80),
});

function parseSm2Key(text: string): ParsedPublicKey {
  let key: ParsedPublicKey;
  try {
    key = parsePublicKey(text);
  } catch (error) {
    if (error instanceof KeyError) throw new DomainError(DomainErrorCode.InvalidInput, error.message);
    throw error;
  }
  if (key.algorithm !== 'sm2') throw new DomainError(DomainErrorCode.InvalidInput, `approvals are signed with SM2; this is an ${key.algorithm} key`);
  return key;
}

const view = (row: { id: string; label: string; fingerprint: string; publicKeyPem: string; createdAt: Date; revokedAt: Date | null }) => ({
  id: row.id,
  label: row.label,
  fingerprint: row.fingerprint,
  publicKeyPem: row.publicKeyPem,
  createdAt: row.createdAt,
  revokedAt: row.revokedAt,
});

export async function listSigningKeys(db: Db, userId: string) {
  const rows = await db.userSigningKey.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return rows.map(view);
}

/**
 * Registers the user's key; a key they had before is revoked in the same transaction (one active key each), and
 * so are the approvals it signed on requests not yet started.
 */
export async function registerSigningKey(db: Db, actor: AuditActor, input: z.infer<typeof registerKeyInput>) {
  const key = parseSm2Key(input.publicKey);
  return db.$transaction(async (tx) => {
    const taken = await tx.userSigningKey.findFirst({ where: { fingerprint: key.fingerprint, revokedAt: null } });
    if (taken && taken.userId !== actor.id) throw new DomainError(DomainErrorCode.Conflict, 'this key is registered to another person: each approver signs with their own key');
    if (taken) throw new DomainError(DomainErrorCode.Conflict, 'this key is already your active key');
    const replaced = await tx.userSigningKey.findMany({ where: { userId: actor.id, revokedAt: null } });
    const now = new Date();
    await tx.userSigningKey.updateMany({ where: { userId: actor.id, revokedAt: null }, data: { revokedAt: now } });
    await voidApprovalsSignedWith(tx, actor, replaced.map((r) => r.fingerprint), 'the key that signed it was replaced');
    const row = await tx.userSigningKey.create({
      data: { id: randomUUID(), userId: actor.id, label: input.label, publicKeyPem: key.pem, fingerprint: key.fingerprint, createdAt: now },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'signingkey.registered',
      targetType: 'user',
      targetId: actor.id,
      details: { keyId: row.id, label: input.label, fingerprint: key.fingerprint, replaced: replaced.map((r) => r.fingerprint) },
    });
    return view(row);
  });
}

export async function revokeSigningKey(db: Db, actor: AuditActor, keyId: string) {
  await db.$transaction(async (tx) => {
    const row = await tx.userSigningKey.findUnique({ where: { id: keyId } });
    if (!row || row.userId !== actor.id) throw new DomainError(DomainErrorCode.NotFound, 'no such key of yours; reload the list');
    if (row.revokedAt) return;
    await tx.userSigningKey.update({ where: { id: keyId }, data: { revokedAt: new Date() } });
    await voidApprovalsSignedWith(tx, actor, [row.fingerprint], 'the key that signed it was revoked');
    await appendAuditEvent(tx, { actor, action: 'signingkey.revoked', targetType: 'user', targetId: actor.id, details: { keyId, fingerprint: row.fingerprint } });
  });
}

export async function activeSigningKey(tx: DbTransaction, userId: string): Promise<ParsedPublicKey | null> {
  const row = await tx.userSigningKey.findFirst({ where: { userId, revokedAt: null }, orderBy: { createdAt: 'desc' } });
  return row ? parsePublicKey(row.publicKeyPem) : null;
}
