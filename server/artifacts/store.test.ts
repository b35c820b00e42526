import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { mock, test } from 'node:test';
import { DomainError, DomainErrorCode } from '../errors';
import { artifactPaths, storeArtifact } from './store';

// The store on a full disk. Writing to /dev/full fails with ENOSPC like a full file system does, without root:
// a symlink to it where the store writes its temporary file stands in for the disk filling up at that file. (The
// .so is copied with copy_file_range, which a device refuses with EINVAL instead: the fault proof fills a real
// tmpfs for that one.)

const SM3 = 'a'.repeat(64);

function scratch() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-store-'));
  const upload = path.join(dir, 'upload.so.part');
  writeFileSync(upload, 'ELF bytes');
  const storeDir = path.join(dir, 'store');
  return { upload, storeDir };
}

for (const failing of ['manifest', 'signature'] as const) {
  test(`a disk that fills up writing the ${failing} leaves no file of the upload and says so`, async () => {
    const { upload, storeDir } = scratch();
    mkdirSync(storeDir);
    const paths = artifactPaths(storeDir, SM3);
    // Temp names are random per write; pinned here so the symlink sits where the failing file is written.
    const name = '00000000-0000-4000-8000-000000000000';
    symlinkSync('/dev/full', `${paths[failing]}.tmp-${process.pid}-${name}`);
    const pinned = mock.method(crypto, 'randomUUID', () => name);
    syncBuiltinESMExports();
    const storing = storeArtifact(storeDir, SM3, { soTempPath: upload, manifestBytes: Buffer.from('{"m":1}'), signatureBytes: Buffer.from('sig') });
    await assert.rejects(storing.finally(() => {
      pinned.mock.restore();
      syncBuiltinESMExports();
    }), (error: unknown) => {
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.code, DomainErrorCode.Unavailable);
      assert.equal(error.message, `no space left on the disk of ${storeDir} (ENOSPC): the upload was refused and nothing of it was kept; free some space and upload it again`);
      return true;
    });
    assert.deepEqual(readdirSync(storeDir), []);
  });
}

test('a store with room keeps all three files, read-only', async () => {
  const { upload, storeDir } = scratch();
  const { paths } = await storeArtifact(storeDir, SM3, { soTempPath: upload, manifestBytes: Buffer.from('m'), signatureBytes: Buffer.from('s') });
  assert.deepEqual(readdirSync(storeDir).sort(), [paths.so, paths.manifest, paths.signature].map((p) => path.basename(p)).sort());
  for (const file of [paths.so, paths.manifest, paths.signature]) assert.equal(statSync(file).mode & 0o777, 0o444);
});

test('storing an artifact that is already in place keeps its files and claims none of them', async () => {
  const { upload, storeDir } = scratch();
  const first = await storeArtifact(storeDir, SM3, { soTempPath: upload, manifestBytes: Buffer.from('m'), signatureBytes: Buffer.from('s') });
  const second = await storeArtifact(storeDir, SM3, { soTempPath: upload, manifestBytes: Buffer.from('m'), signatureBytes: Buffer.from('s') });
  assert.equal(first.placed.length, 3);
  assert.deepEqual(second.placed, []);
  assert.equal(readdirSync(storeDir).length, 3);
});
