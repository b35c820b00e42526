import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readdirSync, symlinkSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { before, describe, it, mock } from 'node:test';
import { createApiToken } from '../auth/api-tokens';
import { createUser } from '../auth/users';
import { createConsoleFixture, type ArtifactPaths, type ConsoleFixture } from '../testing/console-fixture';
import type { UploadResult } from './upload';
import { handleUploadRequest, UPLOAD_HEADERS } from './upload-http';

// The upload route's HTTP answers, driven with real Requests as `hotplane push` sends them.
describe('POST /api/artifacts: statuses for bodies over the cap, malformed names and a full disk', () => {
  const LIMIT = 64 * 1024;
  let f: ConsoleFixture;
  let token: string;
  let artifact: ArtifactPaths;

  before(async () => {
    f = await createConsoleFixture({ HOTPLANE_MAX_UPLOAD_BYTES: String(LIMIT) });
    const { user } = await createUser(f.db, f.actor, { email: 'pusher@test.example', name: 'Pusher', roles: ['operator'] });
    token = (await createApiToken(f.db, { id: user.id, name: user.email, roles: user.roles }, 'ci')).token;
    artifact = await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' });
  });

  async function push(body: Uint8Array<ArrayBuffer>, soName: string | null, signature?: Buffer): Promise<Response> {
    return handleUploadRequest(
      new Request('http://localhost:3000/api/artifacts', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          ...(soName === null ? {} : { [UPLOAD_HEADERS.soName]: soName }),
          [UPLOAD_HEADERS.manifest]: (await readFile(artifact.manifest)).toString('base64'),
          [UPLOAD_HEADERS.signature]: (signature ?? (await readFile(artifact.signature))).toString('base64'),
        },
        body,
      }),
    );
  }

  const auditedRejection = (reportId: string) =>
    f.db.auditEvent.findFirst({ where: { action: 'artifact.rejected', details: { contains: reportId } } });

  const tempFiles = () => {
    try {
      return readdirSync(path.join(f.dataDir, 'tmp'));
    } catch {
      return [];
    }
  };

  it('a body over HOTPLANE_MAX_UPLOAD_BYTES is 413 with its report, audited, and leaves no temp file', async () => {
    const response = await push(new Uint8Array(LIMIT * 4), 'ledger.so');
    assert.equal(response.status, 413);
    const report = (await response.json()) as UploadResult;
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.checks.find((c) => c.status === 'fail')?.check, 'size-limit');
    assert.equal((await f.db.verificationReport.findUniqueOrThrow({ where: { id: report.reportId } })).failedCheck, 'size-limit');
    assert.deepEqual(tempFiles(), []);
    assert.deepEqual(f.storeFiles(), []);
  });

  it('any other rejection stays 422, so 413 means the cap and nothing else', async () => {
    const response = await push(await readFile(artifact.so), encodeURIComponent('../ledger.so'));
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as UploadResult).checks.find((c) => c.status === 'fail')?.check, 'file-names');
  });

  it('an upload without X-Hotplane-File-Name is 400 naming the header, and still reported and audited', async () => {
    const response = await push(await readFile(artifact.so), null);
    assert.equal(response.status, 400);
    const report = (await response.json()) as UploadResult;
    assert.equal(report.outcome, 'rejected');
    assert.match(report.message, /header X-Hotplane-File-Name is missing or empty/);
    assert.equal((await f.db.verificationReport.findUniqueOrThrow({ where: { id: report.reportId } })).failedCheck, 'file-names');
    assert.ok(await auditedRejection(report.reportId));
    assert.deepEqual(tempFiles(), []);
  });

  it('a signature over its limit is refused with a message naming the limit, reported and audited', async () => {
    const response = await push(await readFile(artifact.so), 'ledger.so', Buffer.alloc(3000, 0x41));
    assert.equal(response.status, 413);
    const report = (await response.json()) as UploadResult;
    assert.match(report.message, /the signature file is 3000 bytes, over the 2048-byte limit for a signature file/);
    assert.equal((await f.db.verificationReport.findUniqueOrThrow({ where: { id: report.reportId } })).failedCheck, 'size-limit');
    assert.ok(await auditedRejection(report.reportId));
  });

  it('a file name that is not valid percent-encoding is 400 and records nothing', async () => {
    const reports = await f.db.verificationReport.count();
    const response = await push(await readFile(artifact.so), '%E0%A4%A');
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { message: string }).message, /not valid percent-encoding/);
    assert.equal(await f.db.verificationReport.count(), reports);
    assert.deepEqual(tempFiles(), []);
  });

  it('a disk that fills up while the .so is received is 503 "no space left", and leaves no temp or store file', async () => {
    // Writing to /dev/full fails with ENOSPC as a full disk does, without root. The temp file's name is random, so
    // it is pinned for this one upload to put the symlink where the .so is written.
    const tempDir = path.join(f.dataDir, 'tmp');
    const name = '00000000-0000-4000-8000-000000000000';
    await mkdir(tempDir, { recursive: true });
    symlinkSync('/dev/full', path.join(tempDir, `upload-${name}.so.part`));
    const reports = await f.db.verificationReport.count();
    const pinned = mock.method(crypto, 'randomUUID', () => name);
    // receive.ts imports randomUUID as an ES module binding, which follows the CommonJS object only when synced.
    syncBuiltinESMExports();
    let response: Response;
    try {
      response = await push(await readFile(artifact.so), 'ledger.so');
    } finally {
      pinned.mock.restore();
      syncBuiltinESMExports();
    }
    assert.equal(response.status, 503);
    assert.equal(
      ((await response.json()) as { message: string }).message,
      `no space left on the disk of ${tempDir} (ENOSPC): the upload was refused and nothing of it was kept; free some space and upload it again`,
    );
    assert.deepEqual(tempFiles(), []);
    assert.deepEqual(f.storeFiles(), []);
    assert.equal(await f.db.verificationReport.count(), reports);
  });

  it('the same upload within the cap is accepted (201)', async () => {
    const response = await push(await readFile(artifact.so), 'ledger.so');
    assert.equal(response.status, 201, await response.clone().text());
    assert.equal(f.storeFiles().length, 3);
  });
});
