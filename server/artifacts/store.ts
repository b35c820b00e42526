import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DomainError, DomainErrorCode } from '../errors';

// Content-addressed, read-only artifact store: data/artifacts/<sm3>.so (0444) beside its manifest and signature.

export interface StoredArtifactPaths {
  so: string;
  manifest: string;
  signature: string;
}

export function artifactPaths(storeDir: string, sm3: string): StoredArtifactPaths {
  if (!/^[0-9a-f]{64}$/.test(sm3)) throw new Error(`not an SM3 digest: ${sm3}`);
  const base = path.join(storeDir, sm3);
  return { so: `${base}.so`, manifest: `${base}.so.manifest.json`, signature: `${base}.so.manifest.sig` };
}

/** A full disk (or quota) met while keeping an upload, as a refusal that says so; null for any other error. */
export function outOfSpace(error: unknown, dir: string): DomainError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return null;
  return new DomainError(
    DomainErrorCode.Unavailable,
    `no space left on the disk of ${dir} (${code}): the upload was refused and nothing of it was kept; free some space and upload it again`,
  );
}

// A temporary file that could not be finished is removed: the store never holds a partial file.
async function writeReadOnly(target: string, write: (tmp: string) => Promise<void>) {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await write(tmp);
    const handle = await open(tmp, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o444);
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

// All three files or none: a failure half-way removes the ones this call put in place, so no stored file is ever
// without the others, nor without its database record (which is written only after this returns).
export async function storeArtifact(
  storeDir: string,
  sm3: string,
  files: { soTempPath: string; manifestBytes: Uint8Array; signatureBytes: Uint8Array },
): Promise<StoredArtifactPaths> {
  const paths = artifactPaths(storeDir, sm3);
  const placed: string[] = [];
  try {
    await mkdir(storeDir, { recursive: true });
    const existing = await stat(paths.so).catch(() => null);
    if (!existing) {
      await writeReadOnly(paths.so, (tmp) => copyFile(files.soTempPath, tmp));
      placed.push(paths.so);
    }
    await writeReadOnly(paths.manifest, (tmp) => writeFile(tmp, files.manifestBytes));
    placed.push(paths.manifest);
    await writeReadOnly(paths.signature, (tmp) => writeFile(tmp, files.signatureBytes));
  } catch (error) {
    await Promise.all(placed.map((p) => rm(p, { force: true })));
    throw outOfSpace(error, storeDir) ?? error;
  }
  return paths;
}

// Used only when the database refuses the accepting transaction, so no stored file lacks its record.
export async function removeStoredArtifact(paths: StoredArtifactPaths) {
  await Promise.all([paths.so, paths.manifest, paths.signature].map((p) => rm(p, { force: true })));
}
