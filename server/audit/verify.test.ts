import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type Database from 'better-sqlite3';
import { generateSm2KeyPair } from '../crypto/sm2';
import { parsePublicKey } from '../crypto/keys';
import { canonicalJson } from './canonical-json';
import { readEventRow, rowOf } from './chain';
import { parseCheckpointLine, signCheckpoint } from './checkpoint-format';
import type { AuditProblem } from './problems';
import {
  buildCheckpointedTrail,
  createTestTrail,
  openAsAttacker,
  readRow,
  recomputeChainFrom,
  writeRow,
  SQLITE_ATTACKER,
  type TestTrail,
} from './test-support';
import { verifyAuditTrail, type AuditVerification } from './verify';
import { sm2Signer } from './signing/file-signer';

// 320 events, a signed checkpoint after every 50: lines 1–6 cover seq 1–300; 301–320 rest on the chain alone.
const TOTAL = 320;
const EVERY = 50;
const VICTIM = 137;

async function verifyTampered(tamper: (attacker: Database.Database, trail: TestTrail) => void): Promise<AuditVerification> {
  const trail = createTestTrail();
  try {
    await buildCheckpointedTrail(trail, TOTAL, EVERY);
    // Tests that tamper with the checkpoints file alone run on PostgreSQL too, where there is no SQLite file to open.
    const attacker = SQLITE_ATTACKER ? null : openAsAttacker(trail.dbFile);
    try {
      tamper(attacker as Database.Database, trail);
    } finally {
      attacker?.close();
    }
    return await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: trail.checkpointer.publicKey().pem });
  } finally {
    await trail.close();
  }
}

function summary(problems: AuditProblem[]) {
  return problems.map(({ kind, seq, throughSeq, checkpointLine }) => ({ kind, seq, throughSeq, checkpointLine }));
}

function editDetails(attacker: Database.Database, seq: number): void {
  const row = readRow(attacker, seq);
  writeRow(attacker, { ...row, details: canonicalJson({ ...JSON.parse(row.details), size: 1 }) });
}

function rewriteCheckpointLine(file: string, lineNumber: number, edit: (line: string) => string | null): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const edited = edit(lines[lineNumber - 1]);
  if (edited === null) lines.splice(lineNumber - 1, 1);
  else lines[lineNumber - 1] = edited;
  writeFileSync(file, lines.join('\n'));
}

describe('verifyAuditTrail', () => {
  test('an untouched trail verifies, with the checkpoint coverage stated', async () => {
    const result = await verifyTampered(() => {});
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.eventsChecked, TOTAL);
    assert.equal(result.checkpointsChecked, 6);
    assert.equal(result.checkpointsTrusted, 6);
    assert.equal(result.headSeq, TOTAL);
    assert.equal(result.checkpointedThroughSeq, 300);
    assert.equal(result.firstBadSeq, null);
  });

  test('an edited row (hash left alone) is named by its own hash', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => editDetails(attacker, VICTIM));
    assert.equal(result.firstBadSeq, VICTIM);
    assert.deepEqual(summary(result.problems), [{ kind: 'hash-mismatch', seq: VICTIM, throughSeq: undefined, checkpointLine: undefined }]);
  });

  test('a deleted row leaves a gap', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => attacker.prepare('DELETE FROM "AuditEvent" WHERE seq = ?').run(VICTIM));
    assert.equal(result.firstBadSeq, VICTIM);
    assert.deepEqual(summary(result.problems), [{ kind: 'missing', seq: VICTIM, throughSeq: VICTIM, checkpointLine: undefined }]);
  });

  test('an inserted row (later rows renumbered, forged row hashed and linked) is named by the link that skips it', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => {
      const shift = attacker.prepare('UPDATE "AuditEvent" SET seq = seq + 1 WHERE seq = ?');
      for (let seq = TOTAL; seq >= VICTIM; seq--) shift.run(seq);
      const template = readEventRow(readRow(attacker, VICTIM - 1));
      assert.ok(template.ok);
      const forged = rowOf({ ...template.content, seq: VICTIM, targetId: 'forged', prevHash: readRow(attacker, VICTIM - 1).hash });
      attacker.prepare('INSERT INTO "AuditEvent" VALUES (@seq, @time, @actorId, @actorName, @actorRoles, @actorKeyFp, @action, @targetType, @targetId, @details, @prevHash, @hash)').run(forged);
    });
    assert.equal(result.firstBadSeq, VICTIM);
    const first = summary(result.problems).filter((problem) => problem.seq === VICTIM);
    assert.deepEqual(first.map((problem) => problem.kind).sort(), ['checkpoint-mismatch', 'inserted']);
    // Every renumbered row's hash covers its old seq: one folded problem, not 184.
    assert.ok(result.problems.some((problem) => problem.kind === 'hash-mismatch' && problem.seq === VICTIM + 1 && problem.throughSeq === TOTAL + 1));
  });

  test('reordered rows (two rows swapped whole) are named at the earlier one', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => {
      const earlier = readRow(attacker, VICTIM);
      const later = readRow(attacker, VICTIM + 5);
      // hash is UNIQUE: park the earlier row on a placeholder while the later one takes its hash.
      writeRow(attacker, { ...earlier, hash: 'placeholder' });
      writeRow(attacker, { ...earlier, seq: VICTIM + 5 });
      writeRow(attacker, { ...later, seq: VICTIM });
    });
    assert.equal(result.firstBadSeq, VICTIM);
    const kindsAt = (seq: number) => result.problems.filter((problem) => problem.seq === seq).map((problem) => problem.kind);
    assert.ok(kindsAt(VICTIM).includes('hash-mismatch'));
    assert.ok(kindsAt(VICTIM + 5).includes('hash-mismatch'));
  });

  test('a truncated tail is named by the signed checkpoint that vouches for the deleted events', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => attacker.prepare('DELETE FROM "AuditEvent" WHERE seq > 250').run());
    assert.equal(result.firstBadSeq, 251);
    assert.deepEqual(summary(result.problems), [{ kind: 'truncated', seq: 251, throughSeq: 300, checkpointLine: 6 }]);
  });

  test('a recomputed chain passes every link and hash check but not the checkpoints, which name the exact seq', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => {
      editDetails(attacker, VICTIM);
      recomputeChainFrom(attacker, VICTIM);
    });
    assert.equal(result.firstBadSeq, VICTIM);
    assert.deepEqual(
      summary(result.problems),
      [VICTIM, 151, 201, 251].map((seq, index) => ({ kind: 'checkpoint-mismatch', seq, throughSeq: undefined, checkpointLine: 3 + index })),
    );
  });

  test('limit: a chain recomputed after the last checkpoint is invisible until the next one', { skip: SQLITE_ATTACKER }, async () => {
    const result = await verifyTampered((attacker) => {
      editDetails(attacker, 310);
      recomputeChainFrom(attacker, 310);
    });
    assert.equal(result.ok, true);
    assert.equal(result.checkpointedThroughSeq, 300);
  });

  test('an edited checkpoint line fails its signature and breaks the link to the next line', async () => {
    const result = await verifyTampered((_attacker, trail) =>
      rewriteCheckpointLine(trail.checkpointFile, 3, (line) => {
        const checkpoint = JSON.parse(line);
        checkpoint.eventHashes[0] = '0'.repeat(16);
        return canonicalJson(checkpoint);
      }),
    );
    assert.equal(result.ok, false);
    assert.equal(result.firstBadSeq, null);
    assert.equal(result.checkpointsTrusted, 5);
    assert.deepEqual(
      result.problems.map(({ kind, checkpointLine }) => ({ kind, checkpointLine })),
      [
        { kind: 'checkpoint-signature', checkpointLine: 3 },
        { kind: 'checkpoint-chain', checkpointLine: 4 },
      ],
    );
  });

  test('a recomputed chain with re-signed checkpoints under another key is refused line by line', { skip: SQLITE_ATTACKER }, async () => {
    const impostor = generateSm2KeyPair();
    const result = await verifyTampered((attacker, trail) => {
      editDetails(attacker, VICTIM);
      recomputeChainFrom(attacker, VICTIM);
      rewriteCheckpointLine(trail.checkpointFile, 3, (line) => {
        const parsed = parseCheckpointLine(line);
        assert.ok(parsed.ok);
        const { signature: _signature, ...unsigned } = parsed.checkpoint;
        return signCheckpoint({ ...unsigned, publicKeyFingerprint: parsePublicKey(impostor.publicKeyPem).fingerprint }, sm2Signer(impostor.privateKeyPem, 'impostor')).text;
      });
    });
    assert.equal(result.ok, false);
    const kinds = result.problems.map((problem) => problem.kind);
    assert.ok(kinds.includes('checkpoint-key'));
    // Lines 4–6 still carry the console's signature over the original hashes.
    assert.equal(result.firstBadSeq, 151);
  });

  test('a deleted checkpoint line breaks the line chain; the remaining lines still vouch for their events', async () => {
    const result = await verifyTampered((_attacker, trail) => rewriteCheckpointLine(trail.checkpointFile, 2, () => null));
    assert.deepEqual(
      result.problems.map(({ kind, checkpointLine, seq }) => ({ kind, checkpointLine, seq })),
      [{ kind: 'checkpoint-chain', checkpointLine: 2, seq: 150 }],
    );
    assert.equal(result.checkpointsTrusted, 5);
  });

  test('a removed checkpoints file is reported', async () => {
    const result = await verifyTampered((_attacker, trail) => rmSync(trail.checkpointFile));
    assert.deepEqual(summary(result.problems), [
      { kind: 'checkpoint-coverage', seq: 1, throughSeq: 300, checkpointLine: undefined },
      { kind: 'checkpoint-file-missing', seq: null, throughSeq: undefined, checkpointLine: undefined },
    ]);
  });
});
