import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { parsePublicKey, type ParsedPublicKey } from '../crypto/keys';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { isValidModuleGlob, moduleGlobMatches } from './module-glob';
import { withdrawVersionsOfSigner } from './revocation-effects';

export const registerSignerInput = z
  .object({
    name: z.string().trim().min(1, 'give the signer a name, e.g. "Release signing 2026"').max(120),
    subjectDn: z.string().trim().min(1, 'give the subject DN, e.g. "CN=Release,O=Bank,C=CN"').max(400),
    serial: z.string().trim().min(1, 'give the certificate or key serial').max(128),
    publicKey: z.string().trim().min(1, 'paste the public key (PEM or hex 04‖x‖y)'),
    allowedModules: z
      .array(z.string().trim())
      .min(1, 'list at least one module (glob) this signer may sign, e.g. ledger or risk-*')
      .refine((globs) => globs.every(isValidModuleGlob), 'module globs use a-z, 0-9, -, * and ?'),
    notBefore: z.coerce.date(),
    notAfter: z.coerce.date(),
  })
  .refine((s) => s.notAfter > s.notBefore, { message: 'not-after must be later than not-before', path: ['notAfter'] });
export type RegisterSignerInput = z.infer<typeof registerSignerInput>;

export interface SignerCandidate {
  id: string;
  name: string;
  subjectDn: string;
  fingerprint: string;
  allowedModules: string[];
  notBefore: Date;
  notAfter: Date;
  revokedAt: Date | null;
  revocationReason: string | null;
  key: ParsedPublicKey;
}

export type SignerStanding =
  | { usable: true }
  | { usable: false; reason: 'revoked' | 'not-yet-valid' | 'expired' | 'module-not-allowed'; message: string };

// Why a signer whose key verifies may still not vouch for this module now.
export function signerStanding(signer: SignerCandidate, moduleName: string, now: Date): SignerStanding {
  if (signer.revokedAt) {
    return {
      usable: false,
      reason: 'revoked',
      message: `signer "${signer.name}" was revoked at ${signer.revokedAt.toISOString()} (${signer.revocationReason ?? 'no reason given'}); have a current signer re-sign`,
    };
  }
  if (now < signer.notBefore) {
    return { usable: false, reason: 'not-yet-valid', message: `signer "${signer.name}" is not valid before ${signer.notBefore.toISOString()}` };
  }
  if (now > signer.notAfter) {
    return {
      usable: false,
      reason: 'expired',
      message: `signer "${signer.name}" expired at ${signer.notAfter.toISOString()}; have a current signer re-sign or extend the registration`,
    };
  }
  if (!signer.allowedModules.some((glob) => moduleGlobMatches(glob, moduleName))) {
    return {
      usable: false,
      reason: 'module-not-allowed',
      message: `signer "${signer.name}" may sign only ${signer.allowedModules.join(', ')}, not "${moduleName}"; use a signer registered for it`,
    };
  }
  return { usable: true };
}

type SignerRow = Awaited<ReturnType<Db['signer']['findMany']>>[number];

function toCandidate(row: SignerRow): SignerCandidate {
  return {
    id: row.id,
    name: row.name,
    subjectDn: row.subjectDn,
    fingerprint: row.fingerprint,
    allowedModules: JSON.parse(row.allowedModules) as string[],
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    revokedAt: row.revokedAt,
    revocationReason: row.revocationReason,
    key: parsePublicKey(row.publicKeyPem),
  };
}

export async function listSignerCandidates(db: Db): Promise<SignerCandidate[]> {
  return (await db.signer.findMany({ orderBy: { createdAt: 'asc' } })).map(toCandidate);
}

export async function listSigners(db: Db) {
  const rows = await db.signer.findMany({ orderBy: { createdAt: 'asc' }, include: { _count: { select: { versions: true } } } });
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    subjectDn: row.subjectDn,
    serial: row.serial,
    algorithm: row.algorithm,
    fingerprint: row.fingerprint,
    publicKeyPem: row.publicKeyPem,
    allowedModules: JSON.parse(row.allowedModules) as string[],
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    revokedAt: row.revokedAt,
    revocationReason: row.revocationReason,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    versionsSigned: row._count.versions,
  }));
}

export async function registerSigner(db: Db, actor: AuditActor, input: RegisterSignerInput) {
  let key: ParsedPublicKey;
  try {
    key = parsePublicKey(input.publicKey);
  } catch (error) {
    throw new DomainError(DomainErrorCode.InvalidInput, (error as Error).message);
  }
  return db.$transaction(async (tx) => {
    const clash = await tx.signer.findFirst({ where: { OR: [{ fingerprint: key.fingerprint }, { name: input.name }] } });
    if (clash) {
      const what = clash.fingerprint === key.fingerprint ? `this key (fingerprint ${key.fingerprint})` : `the name "${input.name}"`;
      throw new DomainError(DomainErrorCode.Conflict, `${what} is already registered as signer "${clash.name}"`);
    }
    const signer = await tx.signer.create({
      data: {
        id: randomUUID(),
        name: input.name,
        subjectDn: input.subjectDn,
        serial: input.serial,
        algorithm: key.algorithm,
        publicKeyPem: key.pem,
        fingerprint: key.fingerprint,
        allowedModules: JSON.stringify(input.allowedModules),
        notBefore: input.notBefore,
        notAfter: input.notAfter,
        createdBy: actor.id,
      },
    });
    await appendAuditEvent(tx, {
      actor,
      action: 'signer.registered',
      targetType: 'signer',
      targetId: signer.id,
      details: {
        name: signer.name,
        subjectDn: signer.subjectDn,
        serial: signer.serial,
        algorithm: signer.algorithm,
        fingerprint: signer.fingerprint,
        allowedModules: input.allowedModules,
        notBefore: input.notBefore.toISOString(),
        notAfter: input.notAfter.toISOString(),
      },
    });
    return signer;
  });
}

export async function revokeSigner(db: Db, actor: AuditActor, signerId: string, reason: string) {
  return db.$transaction(async (tx) => {
    const signer = await tx.signer.findUnique({ where: { id: signerId } });
    if (!signer) throw new DomainError(DomainErrorCode.NotFound, `no signer with id ${signerId}; reload the signer list`);
    if (signer.revokedAt) {
      throw new DomainError(DomainErrorCode.Conflict, `signer "${signer.name}" was already revoked at ${signer.revokedAt.toISOString()}`);
    }
    const revokedAt = new Date();
    await tx.signer.update({ where: { id: signerId }, data: { revokedAt, revocationReason: reason } });
    const withdrawn = await withdrawVersionsOfSigner(tx, actor, signer, reason, revokedAt);
    await appendAuditEvent(tx, {
      actor,
      action: 'signer.revoked',
      targetType: 'signer',
      targetId: signerId,
      details: { name: signer.name, fingerprint: signer.fingerprint, reason, revokedAt: revokedAt.toISOString(), versionsWithdrawn: withdrawn.length },
    });
    return { withdrawn };
  });
}
