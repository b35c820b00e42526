import { randomUUID } from 'node:crypto';
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

async function fsync(file: string) {
  const handle = await open(file, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// A temporary file that could not be finished is removed: the store never holds a partial file. Each write has its
// own temp name, so two uploads of the same artifact never write into, or remove, each other's file; the rename
// into place is atomic, and the folder is synced so the new name survives a power cut.
async function writeReadOnly(target: string, write: (tmp: string) => Promise<void>) {
  const tmp = `${target}.tmp-${process.pid}-${randomUUID()}`;
  try {
    await write(tmp);
    await fsync(tmp);
    await chmod(tmp, 0o444);
    await rename(tmp, target);
    await fsync(path.dirname(target));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The files of an artifact in the store, and which of them this call put there (only those it may take back). */
export interface StoredArtifact {
  paths: StoredArtifactPaths;
  placed: string[];
}

// All three files or none: a failure half-way removes the ones this call put in place, so no stored file is ever
// without the others, nor without its database record (which is written only after this returns). A file already
// in place (same digest, so the same bytes) is kept as it is and never counted as this call's.
export async function storeArtifact(
  storeDir: string,
  sm3: string,
  files: { soTempPath: string; manifestBytes: Uint8Array; signatureBytes: Uint8Array },
): Promise<StoredArtifact> {
  const paths = artifactPaths(storeDir, sm3);
  const placed: string[] = [];
  const absent = async (file: string) => (await stat(file).catch(() => null)) === null;
  try {
    await mkdir(storeDir, { recursive: true });
    if (await absent(paths.so)) {
      await writeReadOnly(paths.so, (tmp) => copyFile(files.soTempPath, tmp));
      placed.push(paths.so);
    }
    if (await absent(paths.manifest)) {
      await writeReadOnly(paths.manifest, (tmp) => writeFile(tmp, files.manifestBytes));
      placed.push(paths.manifest);
    }
    if (await absent(paths.signature)) {
      await writeReadOnly(paths.signature, (tmp) => writeFile(tmp, files.signatureBytes));
      placed.push(paths.signature);
    }
  } catch (error) {
    await Promise.all(placed.map((p) => rm(p, { force: true })));
    throw outOfSpace(error, storeDir) ?? error;
  }
  return { paths, placed };
}

// Used only when the database refuses the accepting transaction: takes back what this call placed and nothing
// else, so an upload that loses a race never deletes the bytes of the one that won.
export async function removeStoredArtifact(stored: StoredArtifact) {
  await Promise.all(stored.placed.map((p) => rm(p, { force: true })));
}

/** Puts `bytes` at `target` (read-only, synced) unless a file is there already: same name, same digest, same bytes. */
export async function storeFile(target: string, bytes: Uint8Array) {
  if ((await stat(target).catch(() => null)) !== null) return;
  await mkdir(path.dirname(target), { recursive: true });
  await writeReadOnly(target, (tmp) => writeFile(tmp, bytes));
}
