import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiToken } from '../auth/api-tokens';
import { createUser } from '../auth/users';
import { digestArtifactFile } from '../crypto/digest';
import { serveFetchHandler } from '../fleet/test-http';
import { compileLedger } from '../testing/compile-ledger';
import { createConsoleFixture, type ArtifactPaths, type ConsoleFixture } from '../testing/console-fixture';
import type { UploadResult } from './upload';
import { handleUploadRequest, UPLOAD_HEADERS } from './upload-http';

// Two uploads racing over real HTTP on loopback, as two `hotplane push` runs (or a double-clicked form) send them.
describe('the store under concurrent uploads', () => {
  let f: ConsoleFixture;
  let token: string;
  let server: Awaited<ReturnType<typeof serveFetchHandler>>;

  before(async () => {
    f = await createConsoleFixture();
    const { user } = await createUser(f.db, f.actor, { email: 'racer@test.example', name: 'Racer', roles: ['operator'] });
    token = (await createApiToken(f.db, { id: user.id, name: user.email, roles: user.roles }, 'ci')).token;
    server = await serveFetchHandler(handleUploadRequest);
  });
  after(() => server.close());

  async function push(artifact: ArtifactPaths): Promise<{ status: number; body: UploadResult }> {
    const response = await fetch(`${server.url}/api/artifacts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        [UPLOAD_HEADERS.soName]: path.basename(artifact.so),
        [UPLOAD_HEADERS.manifest]: (await readFile(artifact.manifest)).toString('base64'),
        [UPLOAD_HEADERS.signature]: (await readFile(artifact.signature)).toString('base64'),
      },
      body: await readFile(artifact.so),
    });
    return { status: response.status, body: (await response.json()) as UploadResult };
  }

  it('attack: two concurrent uploads of the same new artifact give one 201 and one 409, and the accepted bytes stay intact and servable', async () => {
    const artifact = await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' });
    const answers = await Promise.all([push(artifact), push(artifact)]);
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409], JSON.stringify(answers.map((a) => a.body.message)));
    const loser = answers.find((a) => a.status === 409)!.body;
    assert.equal(loser.outcome, 'rejected');
    assert.equal(loser.conflict, true);
    assert.match(loser.message, /accepted by another upload while this one was being verified/);
    assert.equal(loser.checks.find((c) => c.status === 'fail')?.check, 'store');
    const report = await f.db.verificationReport.findUniqueOrThrow({ where: { id: loser.reportId } });
    assert.equal(report.failedCheck, 'store');
    const audit = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'artifact.conflict' } });
    assert.equal(audit.targetId, 'ledger@1.0.0');

    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } } });
    assert.equal(version.status, 'accepted');
    assert.equal((await digestArtifactFile(version.storePath)).sm3, version.sm3, 'the stored .so is the accepted bytes');
    assert.equal(f.storeFiles().length, 3);
    assert.ok(!f.storeFiles().some((name) => name.includes('.tmp-')), 'no temp file is left in the store');
  });

  it('attack: two concurrent uploads of one version with different bytes give one 201 and one 409, never a 500', async () => {
    const good = await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' });
    // A rebuild that also says 1.1.0 (it lacks the fee): other bytes, the same identity, so only the race decides.
    const rebuilt = await compileLedger(f.work, { file: 'ledger-1.1.0-rebuilt.so', version: '1.1.0' });
    const other = await f.signedArtifact({ so: rebuilt, module: 'ledger', version: '1.1.0' });
    const before = f.storeFiles();
    const answers = await Promise.all([push(good), push(other)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], JSON.stringify(answers.map((a) => a.body.message)));
    const loser = answers.find((a) => a.status === 409)!.body;
    assert.match(loser.message, /ledger 1\.1\.0 was accepted by another upload/);
    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.1.0' } } });
    assert.equal((await digestArtifactFile(version.storePath)).sm3, version.sm3);
    assert.equal(f.storeFiles().length, before.length + 3, 'only the winner’s three files were added');
  });

  it('a later identical re-upload is still the plain "already accepted" answer (200)', async () => {
    const artifact = await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' });
    const again = await push(artifact);
    assert.equal(again.status, 200, again.body.message);
    assert.equal(again.body.outcome, 'duplicate');
  });
});
