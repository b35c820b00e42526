import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { config } from '../config';
import { sm3Hex } from '../crypto/digest';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { artifactPaths, storeFile } from './store';

// Artifact bytes live in the database (ArtifactBlob, written in the transaction that accepts the version), so every
// replica can serve and preflight any accepted version. Each replica's artifact folder is a cache of those rows:
// a file missing there (another replica took the upload, or the folder was lost) is written from its row, after
// checking that the bytes still have their digest.

export async function keepArtifactBytes(tx: DbTransaction, sm3: string, files: { soPath: string; manifestBytes: Uint8Array; signatureBytes: Uint8Array }) {
  const so = await readFile(files.soPath);
  const data = { so, manifest: Buffer.from(files.manifestBytes), signature: Buffer.from(files.signatureBytes), storedAt: new Date() };
  await tx.artifactBlob.upsert({ where: { sm3 }, create: { sm3, ...data }, update: {} });
}

/** The path of the accepted artifact's .so on this replica, written from the database first if it is not here. */
export async function localArtifactPath(db: Db, sm3: string, storeDir = config().artifactStoreDir): Promise<string> {
  const paths = artifactPaths(storeDir, sm3);
  const present = await access(paths.so, constants.R_OK).then(() => true, () => false);
  if (present) return paths.so;
  const blob = await db.artifactBlob.findUnique({ where: { sm3 } });
  if (!blob) {
    throw new DomainError(DomainErrorCode.Unavailable, `the bytes of artifact ${sm3} are neither in this replica's store (${storeDir}) nor in the database: upload that version again`);
  }
  const actual = sm3Hex(blob.so);
  if (actual !== sm3) {
    throw new DomainError(DomainErrorCode.Unavailable, `the database's copy of artifact ${sm3} has SM3 ${actual}: it was altered and is not served; upload that version again`);
  }
  await storeFile(paths.so, blob.so);
  await storeFile(paths.manifest, blob.manifest);
  await storeFile(paths.signature, blob.signature);
  return paths.so;
}

/**
 * Versions accepted before the bytes were kept in the database: their files in this replica's store are copied in
 * (digest checked), so the other replicas can reach them too. Returns how many were copied.
 */
export async function keepEarlierArtifactBytes(db: Db, storeDir = config().artifactStoreDir): Promise<number> {
  const kept = new Set((await db.artifactBlob.findMany({ select: { sm3: true } })).map((b) => b.sm3));
  const versions = await db.moduleVersion.findMany({ select: { sm3: true, manifestText: true, signatureHex: true } });
  let copied = 0;
  for (const version of versions) {
    if (kept.has(version.sm3)) continue;
    const so = await readFile(artifactPaths(storeDir, version.sm3).so).catch(() => null);
    if (!so || sm3Hex(so) !== version.sm3) continue;
    const data = { so, manifest: Buffer.from(version.manifestText), signature: Buffer.from(version.signatureHex, 'hex'), storedAt: new Date() };
    await db.artifactBlob.upsert({ where: { sm3: version.sm3 }, create: { sm3: version.sm3, ...data }, update: {} });
    kept.add(version.sm3);
    copied += 1;
  }
  return copied;
}
