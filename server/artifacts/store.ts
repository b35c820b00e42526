import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

async function writeReadOnly(target: string, write: (tmp: string) => Promise<void>) {
  const tmp = `${target}.tmp-${process.pid}`;
  await write(tmp);
  const handle = await open(tmp, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o444);
  await rename(tmp, target);
}

export async function storeArtifact(
  storeDir: string,
  sm3: string,
  files: { soTempPath: string; manifestBytes: Uint8Array; signatureBytes: Uint8Array },
): Promise<StoredArtifactPaths> {
  await mkdir(storeDir, { recursive: true });
  const paths = artifactPaths(storeDir, sm3);
  const existing = await stat(paths.so).catch(() => null);
  if (!existing) await writeReadOnly(paths.so, (tmp) => copyFile(files.soTempPath, tmp));
  await writeReadOnly(paths.manifest, (tmp) => writeFile(tmp, files.manifestBytes));
  await writeReadOnly(paths.signature, (tmp) => writeFile(tmp, files.signatureBytes));
  return paths;
}

// Used only when the database refuses the accepting transaction, so no stored file lacks its record.
export async function removeStoredArtifact(paths: StoredArtifactPaths) {
  await Promise.all([paths.so, paths.manifest, paths.signature].map((p) => rm(p, { force: true })));
}
