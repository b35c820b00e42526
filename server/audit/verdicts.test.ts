// The audit trail's verdicts are honest (issue 8 §5): `hotplane audit verify` says exactly what is covered,
// fails when the checkpoints file covers less than the database records, and trusts only a key given from
// outside the data folder. The CLI runs as a real process against a real SQLite trail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSm2KeyPair } from '../crypto/sm2';
import { AuditCheckpointer } from './checkpoints';
import { consolePublicKeyFile } from './console-key';
import { sm2Signer } from './signing/file-signer';
import { buildCheckpointedTrail, createTestTrail, openAsAttacker, readRow, recomputeChainFrom, writeRow, type TestTrail, SQLITE_ATTACKER } from './test-support';

const BIN = fileURLToPath(new URL('../../bin/hotplane.js', import.meta.url));

function auditCli(trail: TestTrail, args: string[]) {
  const result = spawnSync(process.execPath, [BIN, 'audit', ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      HOTPLANE_DATA_DIR: trail.dir,
      DATABASE_URL: trail.databaseUrl,
      HOTPLANE_CHECKPOINT_FILE: trail.checkpointFile,
      HOTPLANE_CONSOLE_KEY: trail.keyFile,
      HOTPLANE_PKCS11_MODULE: '',
    },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** The auditor's copy of the real console key, kept outside the data folder. */
function recordRealKey(trail: TestTrail): string {
  const file = path.join(trail.dir, '..', `${path.basename(trail.dir)}-auditor-key.pem`);
  writeFileSync(file, trail.signer().publicKey.pem);
  return file;
}

const eventCount = async (trail: TestTrail) => trail.db.auditEvent.count();

describe('hotplane audit verify: coverage and trust anchor', () => {
  test('attack: emptying the checkpoints file makes audit verify exit non-zero naming the missing coverage', async () => {
    const trail = createTestTrail();
    try {
      await buildCheckpointedTrail(trail, 120, 50);
      const realKey = recordRealKey(trail);
      writeFileSync(trail.checkpointFile, '');
      const { status, out } = auditCli(trail, ['verify', '--public-key', realKey]);
      assert.equal(status, 1, out);
      assert.match(out, /checkpoints +0 trusted of 0 line\(s\); covered up to seq 0/);
      assert.match(out, /PROBLEM checkpoint-coverage seq 1–100: the record shows 2 checkpoint\(s\) written through seq 100, but the trusted checkpoint lines cover nothing/);
      assert.match(out, /audit trail NOT INTACT/);
      // A restarted console does not re-sign the trail over the emptied file.
      const restarted = new AuditCheckpointer({ checkpointFile: trail.checkpointFile, signer: trail.signer, checkpointEvery: 1, checkpointIntervalMs: 1 });
      await assert.rejects(restarted.checkpointNow(trail.db), /records 2 checkpoint\(s\) through seq 100, but .* ends at seq 0: checkpoint lines were removed/);
      assert.equal(readFileSync(trail.checkpointFile, 'utf8'), '');
      assert.equal(await eventCount(trail), 120);
    } finally {
      await trail.close();
    }
  });

  test('attack: a console key replaced in the data folder, with the chain recomputed and checkpoints re-signed, fails against the real key', { skip: SQLITE_ATTACKER }, async () => {
    const trail = createTestTrail();
    try {
      await buildCheckpointedTrail(trail, 100, 50);
      const realKey = recordRealKey(trail);
      const hashOf30 = async () => (await trail.db.auditEvent.findUniqueOrThrow({ where: { seq: 30 } })).hash;
      const before = await hashOf30();
      // The attacker holds the database and the data folder: rewrites event 30, recomputes the chain, erases
      // the checkpoint record, puts their own key where the console's was and signs fresh checkpoints with it.
      const attacker = openAsAttacker(trail.dbFile);
      writeRow(attacker, { ...readRow(attacker, 30), targetId: 'rewritten' });
      recomputeChainFrom(attacker, 30);
      attacker.exec('DROP TRIGGER "AuditCheckpointRecord_no_delete"; DELETE FROM "AuditCheckpointRecord";');
      attacker.close();
      const impostor = generateSm2KeyPair();
      writeFileSync(trail.keyFile, impostor.privateKeyPem, { mode: 0o600 });
      const impostorSigner = sm2Signer(impostor.privateKeyPem, 'impostor');
      writeFileSync(consolePublicKeyFile(trail.keyFile), impostorSigner.publicKey.pem);
      writeFileSync(trail.checkpointFile, '');
      await new AuditCheckpointer({ checkpointFile: trail.checkpointFile, signer: () => impostorSigner, checkpointEvery: 1, checkpointIntervalMs: 1 }).checkpointNow(trail.db);

      const anchored = auditCli(trail, ['verify', '--public-key', realKey]);
      assert.equal(anchored.status, 1, anchored.out);
      assert.match(anchored.out, /PROBLEM checkpoint-key seq 100 \(checkpoint line 1\): checkpoint line 1 \(seq 100\) names key [0-9a-f]{16}…, not the trusted console key/);
      assert.match(anchored.out, /covered up to seq 0/);
      // Without an anchor the re-signed trail looks intact, and the report says why that proves nothing.
      const unanchored = auditCli(trail, ['verify']);
      assert.equal(unanchored.status, 3, unanchored.out);
      assert.match(unanchored.out, /UNANCHORED: the key came from .*console-key.pem \(in the data folder\)/);
      assert.notEqual(await hashOf30(), before);
    } finally {
      await trail.close();
    }
  });

  test('attack: a pinned fingerprint refuses a console key replaced in the data folder', async () => {
    const trail = createTestTrail();
    try {
      await buildCheckpointedTrail(trail, 50, 50);
      const real = trail.signer().fingerprint;
      const impostor = sm2Signer(generateSm2KeyPair().privateKeyPem, 'impostor');
      writeFileSync(consolePublicKeyFile(trail.keyFile), impostor.publicKey.pem);
      const { status, out } = auditCli(trail, ['verify', '--fingerprint', real]);
      assert.equal(status, 1, out);
      assert.match(out, new RegExp(`has fingerprint ${impostor.fingerprint}, not the pinned ${real}: it was replaced`));
    } finally {
      await trail.close();
    }
  });

  test('attack: events appended after the last checkpoint are reported as uncovered, not as vouched for', async () => {
    const trail = createTestTrail();
    try {
      await buildCheckpointedTrail(trail, 120, 50);
      const { status, out } = auditCli(trail, ['verify', '--public-key', recordRealKey(trail)]);
      assert.equal(status, 3, out);
      assert.match(out, /uncovered tail +101\.\.120 \(rests on the hash chain alone/);
      assert.match(out, /NOT fully vouched for: events 101\.\.120 are not yet covered by a checkpoint/);
      assert.doesNotMatch(out, /audit trail intact:/);
    } finally {
      await trail.close();
    }
  });

  test('a fully checkpointed trail verified against the recorded key exits 0 and says what it covers', async () => {
    const trail = createTestTrail();
    try {
      await buildCheckpointedTrail(trail, 100, 50);
      const { status, out } = auditCli(trail, ['verify', '--public-key', recordRealKey(trail)]);
      assert.equal(status, 0, out);
      assert.match(out, /record +2 checkpoint\(s\) written through seq 100/);
      assert.match(out, /audit trail intact: events 1\.\.100 covered by 2 signed checkpoint\(s\)/);
    } finally {
      await trail.close();
    }
  });
});
