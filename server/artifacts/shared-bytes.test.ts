import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { config } from '../config';
import { digestArtifactFile } from '../crypto/digest';
import { fixtureDatabaseUrl } from '../testing/test-database';
import { createDb, type Db } from '../db/client';
import { createConsoleFixture, type ArtifactPaths, type ConsoleFixture } from '../testing/console-fixture';
import { withKeyedLocks } from './keyed-lock';
import { keepEarlierArtifactBytes, localArtifactPath } from './shared-bytes';
import { acceptUpload } from './upload';

// Two console replicas are two Db clients on one database file; each upload goes through the real pipeline.
describe('artifacts shared between replicas', () => {
  let f: ConsoleFixture;
  let replicaB: Db;

  before(async () => {
    f = await createConsoleFixture();
    replicaB = createDb(fixtureDatabaseUrl(f.dataDir));
  });

  const upload = async (db: Db, artifact: ArtifactPaths) =>
    acceptUpload(db, f.actor, {
      source: Readable.toWeb(createReadStream(artifact.so)) as ReadableStream<Uint8Array>,
      manifestBytes: await readFile(artifact.manifest),
      signatureBytes: await readFile(artifact.signature),
      fileNames: { so: path.basename(artifact.so), manifest: path.basename(artifact.manifest), signature: path.basename(artifact.signature) },
    });

  it('attack: the same new artifact uploaded to two replicas at once is accepted once and stored once', async () => {
    const artifact = await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' });
    const results = await Promise.all([upload(f.db, artifact), upload(replicaB, artifact)]);
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['accepted', 'rejected'], JSON.stringify(results.map((r) => r.message)));
    assert.equal(results.find((r) => r.outcome === 'rejected')?.conflict, true);
    assert.equal(await f.db.moduleVersion.count({ where: { moduleName: 'ledger', version: '1.0.0' } }), 1);
    assert.equal(await f.db.artifactBlob.count(), 1);
    assert.equal(await f.db.clusterClaim.count(), 0, 'every claim was released');
  });

  it('a replica that never saw the upload serves the bytes from the database, checked against their digest', async () => {
    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } } });
    await rm(config().artifactStoreDir, { recursive: true, force: true });
    const file = await localArtifactPath(replicaB, version.sm3);
    assert.equal((await digestArtifactFile(file)).sm3, version.sm3);
    assert.equal(await readFile(`${file}.manifest.json`, 'utf8'), version.manifestText);
  });

  it('attack: bytes altered in the database are refused, not written to the store', async () => {
    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } } });
    const blob = await f.db.artifactBlob.findUniqueOrThrow({ where: { sm3: version.sm3 } });
    const altered = Buffer.from(blob.so);
    altered[altered.length - 1] ^= 1;
    await f.db.artifactBlob.update({ where: { sm3: version.sm3 }, data: { so: altered } });
    await rm(config().artifactStoreDir, { recursive: true, force: true });
    await assert.rejects(localArtifactPath(replicaB, version.sm3), /was altered and is not served/);
    await f.db.artifactBlob.update({ where: { sm3: version.sm3 }, data: { so: blob.so } });
  });

  it('versions accepted before the bytes were kept in the database are copied in from the store, digest checked', async () => {
    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } } });
    await localArtifactPath(f.db, version.sm3);
    await f.db.artifactBlob.deleteMany();
    assert.equal(await keepEarlierArtifactBytes(replicaB), 1);
    assert.equal(await keepEarlierArtifactBytes(replicaB), 0);
    const blob = await f.db.artifactBlob.findUniqueOrThrow({ where: { sm3: version.sm3 } });
    assert.equal(Buffer.from(blob.manifest).toString('utf8'), version.manifestText);
  });

  it('the per-digest lock holds across replicas: the second holder waits for the first to release', async () => {
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = withKeyedLocks(f.db, ['sm3:abc'], async () => {
      order.push('a in');
      assert.equal((await replicaB.clusterClaim.findUniqueOrThrow({ where: { key: 'sm3:abc' } })).key, 'sm3:abc', 'the claim is a row every replica sees');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('a out');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = withKeyedLocks(replicaB, ['sm3:abc'], async () => void order.push('b in'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(order, ['a in']);
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['a in', 'a out', 'b in']);
  });

  it('a claim left by a replica that died expires and is taken over', async () => {
    await f.db.clusterClaim.create({ data: { key: 'sm3:dead', owner: 'replica-gone', expiresAt: new Date(Date.now() - 1) } });
    assert.equal(await withKeyedLocks(replicaB, ['sm3:dead'], async () => 'ran'), 'ran');
  });
});
