import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { sm3Hex } from '../crypto/digest';
import { generateSm2KeyPair } from '../crypto/sm2';
import { parsePublicKey } from '../crypto/keys';
import { canonicalJson } from './canonical-json';
import { GENESIS_CHECKPOINT_HASH, parseCheckpointLine, signCheckpoint, type AuditCheckpoint } from './checkpoint-format';
import { AuditCheckpointer, CheckpointRefusedError } from './checkpoints';
import { fileSigner, sm2Signer } from './signing/file-signer';
import { consolePublicKeyFile, loadOrCreateConsoleKey, readConsolePublicKey } from './console-key';
import { appendTestEvents, createTestTrail, openAsAttacker, readRow, recomputeChainFrom, writeRow, SQLITE_ATTACKER } from './test-support';
import { verifyAuditTrail } from './verify';

function checkpointLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

function readCheckpoints(file: string): AuditCheckpoint[] {
  return checkpointLines(file).map((line) => {
    const parsed = parseCheckpointLine(line);
    assert.ok(parsed.ok, line);
    return parsed.checkpoint;
  });
}

describe('console key', () => {
  test('is created on first use with mode 0600, its public key beside it, and reused afterwards', async () => {
    const trail = createTestTrail();
    try {
      const created = loadOrCreateConsoleKey(trail.keyFile);
      assert.equal(statSync(trail.keyFile).mode & 0o777, 0o600);
      assert.equal(statSync(consolePublicKeyFile(trail.keyFile)).mode & 0o777, 0o644);
      assert.equal(loadOrCreateConsoleKey(trail.keyFile).publicKey.fingerprint, created.publicKey.fingerprint);
      assert.equal(readConsolePublicKey(trail.keyFile).fingerprint, created.publicKey.fingerprint);
      assert.equal(trail.checkpointer.publicKey().pem, created.publicKey.pem);
    } finally {
      await trail.close();
    }
  });

  test('is refused when other users can read it', async () => {
    const trail = createTestTrail();
    try {
      loadOrCreateConsoleKey(trail.keyFile);
      chmodSync(trail.keyFile, 0o644);
      assert.throws(() => loadOrCreateConsoleKey(trail.keyFile), /readable by other users.*chmod 600/);
    } finally {
      await trail.close();
    }
  });
});

describe('AuditCheckpointer', () => {
  test('each checkpoint covers the events since the previous one and links to its line', async () => {
    const trail = createTestTrail();
    try {
      await appendTestEvents(trail.db, 7);
      const first = await trail.checkpointer.checkpointNow(trail.db);
      assert.equal(await trail.checkpointer.checkpointNow(trail.db), null, 'nothing new, nothing written');
      await appendTestEvents(trail.db, 3);
      const second = await trail.checkpointer.checkpointNow(trail.db);
      const lines = checkpointLines(trail.checkpointFile);
      assert.equal(lines.length, 2);
      assert.deepEqual(readCheckpoints(trail.checkpointFile), [first, second]);
      const rows = await trail.db.auditEvent.findMany({ orderBy: { seq: 'asc' } });
      assert.equal(first?.seq, 7);
      assert.equal(first?.headHash, rows[6].hash);
      assert.deepEqual(first?.eventHashes, rows.slice(0, 7).map((row) => row.hash.slice(0, 16)));
      assert.equal(first?.prevCheckpointHash, GENESIS_CHECKPOINT_HASH);
      assert.equal(second?.seq, 10);
      assert.equal(second?.eventHashes.length, 3);
      assert.equal(second?.prevCheckpointHash, sm3Hex(lines[0]));
      assert.equal(lines[1], canonicalJson(second), 'lines are the canonical JSON of the checkpoint');
    } finally {
      await trail.close();
    }
  });

  test('maybeCheckpoint waits for checkpointEvery events or for the oldest uncovered event to reach the interval', async () => {
    let now = Date.now();
    const trail = createTestTrail({ checkpointEvery: 10, checkpointIntervalMs: 60_000, now: () => new Date(now) });
    try {
      assert.equal(await trail.checkpointer.maybeCheckpoint(trail.db), null);
      await appendTestEvents(trail.db, 9);
      assert.equal(await trail.checkpointer.maybeCheckpoint(trail.db), null);
      await appendTestEvents(trail.db, 1);
      assert.equal((await trail.checkpointer.maybeCheckpoint(trail.db))?.seq, 10);
      await appendTestEvents(trail.db, 3);
      now += 59_000;
      assert.equal(await trail.checkpointer.maybeCheckpoint(trail.db), null);
      // Past the interval by more than the seconds the appends above may take on a busy machine.
      now += 5_000;
      assert.equal((await trail.checkpointer.maybeCheckpoint(trail.db))?.seq, 13);
    } finally {
      await trail.close();
    }
  });

  test('refuses to sign events that do not continue the last checkpoint', { skip: SQLITE_ATTACKER }, async () => {
    const trail = createTestTrail();
    try {
      await appendTestEvents(trail.db, 10);
      await trail.checkpointer.checkpointNow(trail.db);
      await appendTestEvents(trail.db, 5);
      const attacker = openAsAttacker(trail.dbFile);
      const row = readRow(attacker, 13);
      writeRow(attacker, { ...row, targetId: 'edited' });
      await assert.rejects(trail.checkpointer.checkpointNow(trail.db), (error: unknown) => {
        assert.ok(error instanceof CheckpointRefusedError);
        assert.match(error.message, /first bad seq 13/);
        assert.deepEqual(error.problems.map((problem) => [problem.kind, problem.seq]), [['hash-mismatch', 13]]);
        return true;
      });
      writeRow(attacker, row);
      writeRow(attacker, { ...readRow(attacker, 5), targetId: 'edited' });
      recomputeChainFrom(attacker, 5);
      attacker.close();
      await assert.rejects(trail.checkpointer.checkpointNow(trail.db), /event 10 no longer has the hash the last checkpoint recorded/);
      assert.equal(checkpointLines(trail.checkpointFile).length, 1, 'nothing was signed');
    } finally {
      await trail.close();
    }
  });

  test('refuses to go on when the checkpoints file is removed or cut while the console runs', async () => {
    const trail = createTestTrail();
    try {
      await appendTestEvents(trail.db, 4);
      await trail.checkpointer.checkpointNow(trail.db);
      await appendTestEvents(trail.db, 2);
      await trail.checkpointer.checkpointNow(trail.db);
      const [firstLine] = checkpointLines(trail.checkpointFile);
      writeFileSync(trail.checkpointFile, `${firstLine}\n`);
      await appendTestEvents(trail.db, 1);
      await assert.rejects(trail.checkpointer.checkpointNow(trail.db), /no longer ends with the line this console last wrote/);
      rmSync(trail.checkpointFile);
      await assert.rejects(trail.checkpointer.maybeCheckpoint(trail.db), /no longer ends with the line this console last wrote/);
      assert.equal(existsSync(trail.checkpointFile), false);
    } finally {
      await trail.close();
    }
  });

  test('refuses to continue a checkpoints file signed by another key', async () => {
    const trail = createTestTrail();
    try {
      await appendTestEvents(trail.db, 2);
      const impostor = generateSm2KeyPair();
      const { text } = signCheckpoint(
        {
          format: 'hotplane.audit-checkpoint/v1',
          seq: 1,
          headHash: 'a'.repeat(64),
          time: new Date().toISOString(),
          eventHashes: ['a'.repeat(16)],
          prevCheckpointHash: GENESIS_CHECKPOINT_HASH,
          publicKeyFingerprint: parsePublicKey(impostor.publicKeyPem).fingerprint,
        },
        sm2Signer(impostor.privateKeyPem, 'impostor'),
      );
      appendFileSync(trail.checkpointFile, `${text}\n`);
      await assert.rejects(trail.checkpointer.checkpointNow(trail.db), /signed by another key/);
    } finally {
      await trail.close();
    }
  });

  test('after a write cut short, the next line stands alone and the verifier names the torn one', async () => {
    const trail = createTestTrail();
    try {
      await appendTestEvents(trail.db, 3);
      await trail.checkpointer.checkpointNow(trail.db);
      appendFileSync(trail.checkpointFile, '{"format":"hotplane.audit-chec');
      await appendTestEvents(trail.db, 2);
      await trail.checkpointer.checkpointNow(trail.db);
      const lines = readFileSync(trail.checkpointFile, 'utf8').split('\n');
      assert.equal(lines[1], '{"format":"hotplane.audit-chec');
      assert.equal(parseCheckpointLine(lines[2]).ok, true);
      const result = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: trail.checkpointer.publicKey() });
      assert.deepEqual(
        result.problems.map(({ kind, checkpointLine }) => [kind, checkpointLine]),
        [
          ['checkpoint-chain', 3],
          ['checkpoint-malformed', 2],
        ],
      );
      assert.equal(result.firstBadSeq, null);
    } finally {
      await trail.close();
    }
  });

  test('start creates the file and polls; stop covers what is left', async () => {
    const trail = createTestTrail();
    const errors: unknown[] = [];
    try {
      const checkpointer = new AuditCheckpointer({
        checkpointFile: trail.checkpointFile,
        signer: () => fileSigner(trail.keyFile),
        checkpointEvery: 5,
        checkpointIntervalMs: 60_000,
        pollIntervalMs: 10,
        onError: (error) => errors.push(error),
      });
      await checkpointer.start(trail.db);
      assert.ok(existsSync(trail.checkpointFile));
      await appendTestEvents(trail.db, 5);
      for (let waited = 0; checkpointLines(trail.checkpointFile).length === 0 && waited < 2000; waited += 10) await sleep(10);
      assert.equal(readCheckpoints(trail.checkpointFile)[0]?.seq, 5);
      await appendTestEvents(trail.db, 2);
      await checkpointer.stop();
      assert.deepEqual(readCheckpoints(trail.checkpointFile).map((checkpoint) => checkpoint.seq), [5, 7]);
      assert.deepEqual(errors, []);
    } finally {
      await trail.close();
    }
  });
});
