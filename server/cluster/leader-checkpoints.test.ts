import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AuditCheckpointer } from '../audit/checkpoints';
import { readCheckpointLines } from '../audit/checkpoint-file';
import { appendTestEvents, createTestTrail } from '../audit/test-support';
import { verifyAuditTrail } from '../audit/verify';
import { sm3Hex } from '../crypto/digest';
import { createDb, prepareDatabase, type Db } from '../db/client';
import { testDatabaseUrl } from '../testing/test-database';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { waitFor } from '../testing/wait-for';
import { LeaderLease } from './lease';

// Two replicas on one database, each with its own checkpoints file (its own append-only sink) and one shared signer:
// only the lease holder checkpoints, so the records in the database never fork or repeat, and each file is a whole
// chain of checkpoints on its own.

describe('audit checkpoints with two replicas', () => {
  it('only the leader checkpoints; after a takeover the new leader continues; records stay one increasing sequence', async () => {
    const databaseUrl = testDatabaseUrl(path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-replicas-')), 't.db'));
    await prepareDatabase(databaseUrl);
    const trail = createTestTrail({ databaseUrl });
    const dbB: Db = createDb(databaseUrl);
    const files = { a: trail.checkpointFile, b: path.join(trail.dir, 'replica-b-checkpoints.jsonl') };
    const checkpointer = (file: string) => new AuditCheckpointer({ checkpointFile: file, signer: trail.signer, checkpointEvery: 5, checkpointIntervalMs: 60_000, pollIntervalMs: 50 });
    const replica = (name: string, db: Db, file: string) => {
      const running: AuditCheckpointer[] = [];
      const lease = new LeaderLease({
        db,
        name: 'rollout-engine',
        replica: name,
        onGain: async () => {
          const c = checkpointer(file);
          await c.start(db);
          running.push(c);
        },
        onLoss: async (_epoch, how) => {
          for (const c of running.splice(0)) await c.stop({ finalCheckpoint: how === 'stopping' });
        },
      });
      return { lease, running };
    };
    const a = replica('replica-a', trail.db, files.a);
    const b = replica('replica-b', dbB, files.b);
    const lines = async (file: string) => (await readCheckpointLines(file))?.length ?? 0;

    await a.lease.beat();
    await b.lease.beat();
    assert.equal(a.lease.epoch, 1);
    assert.equal(b.lease.epoch, null);
    await appendTestEvents(trail.db, 12);
    await waitFor('replica A to checkpoint', async () => (await lines(files.a)) >= 1);
    assert.equal(await lines(files.b), 0, 'the follower signs nothing');

    // A stops renewing (it is killed); B takes over and A, finding out, stops its checkpointer.
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    await b.lease.beat();
    assert.equal(b.lease.epoch, 2);
    await a.lease.beat();
    assert.equal(a.running.length, 0);
    const linesOfA = await lines(files.a);
    await appendTestEvents(dbB, 12);
    await waitFor('replica B to checkpoint', async () => (await trail.db.auditCheckpointRecord.count()) >= linesOfA + 1);
    assert.equal(await lines(files.a), linesOfA, 'the old leader signs nothing more');

    const records = await trail.db.auditCheckpointRecord.findMany({ orderBy: { seq: 'asc' } });
    const fileA = (await readCheckpointLines(files.a))!.map((l) => l.text);
    const fileB = (await readCheckpointLines(files.b))!.map((l) => l.text);
    assert.deepEqual(fileB.slice(0, fileA.length), fileA, "B's file took A's checkpoints from the database before its own: one chain, no fork");
    assert.deepEqual(records.map((r) => r.line), fileB, 'one record per checkpoint, none twice');
    assert.ok(records.every((r, i) => i === 0 || r.seq > records[i - 1].seq));
    const verdict = await verifyAuditTrail(dbB, { checkpointFile: files.b, publicKey: trail.signer().publicKey.pem });
    assert.equal(verdict.ok, true, JSON.stringify(verdict.problems));

    for (const r of [a, b]) for (const c of r.running.splice(0)) await c.stop({ finalCheckpoint: false });
    // attack: a checkpoint line forged in the database (it cannot be signed) is never appended nor built upon.
    const last = JSON.parse(fileB[fileB.length - 1]) as Record<string, unknown>;
    const forgedLine = JSON.stringify({ ...last, seq: 1_000, prevCheckpointHash: sm3Hex(fileB[fileB.length - 1]) });
    await trail.db.auditCheckpointRecord.create({ data: { seq: 1_000, lineHash: sm3Hex(forgedLine), time: String(last.time), keyFingerprint: String(last.publicKeyFingerprint), algorithm: 'sm2-sm3', line: forgedLine } });
    const third = checkpointer(path.join(trail.dir, 'replica-c-checkpoints.jsonl'));
    await third.start(dbB);
    await assert.rejects(third.checkpointNow(dbB), /line for seq 1000 is not linked or not signed by this console\): nothing was appended/);
    await third.stop({ finalCheckpoint: false });
    await dbB.$disconnect();
    await trail.close();
  });
});
