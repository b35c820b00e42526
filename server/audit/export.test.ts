import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sm3Hex } from '../crypto/digest';
import { canonicalJson } from './canonical-json';
import { AUDIT_EXPORT_FILES, exportAuditTrail, verifyExportedTrail } from './export';
import { buildCheckpointedTrail, createTestTrail, openAsAttacker, readRow, writeRow, type TestTrail, SQLITE_ATTACKER } from './test-support';
import { verifyAuditTrail } from './verify';

// 120 events; signed checkpoints cover 1–100.
const TOTAL = 120;

function hasTool(name: string, versionArgs: string[]): boolean {
  try {
    execFileSync(name, versionArgs, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('exportAuditTrail and verifyExportedTrail', () => {
  let trail: TestTrail;
  let exportDir: string;
  let eventLines: string[];

  before(async () => {
    trail = createTestTrail();
    await buildCheckpointedTrail(trail, TOTAL, 50);
    exportDir = path.join(trail.dir, 'export');
    await exportAuditTrail(trail.db, exportDir, { checkpointFile: trail.checkpointFile, signer: trail.signer() });
    eventLines = readFileSync(path.join(exportDir, AUDIT_EXPORT_FILES.events), 'utf8').split('\n').filter(Boolean);
  });
  after(() => trail.close());

  /** A copy of the export with its events file replaced, for one tampering scenario. */
  async function verifyWithEvents(name: string, lines: string[]) {
    const dir = path.join(trail.dir, name);
    mkdirSync(dir);
    for (const file of Object.values(AUDIT_EXPORT_FILES)) {
      if (file !== AUDIT_EXPORT_FILES.events) copyFileSync(path.join(exportDir, file), path.join(dir, file));
    }
    writeFileSync(path.join(dir, AUDIT_EXPORT_FILES.events), lines.map((line) => `${line}\n`).join(''));
    const result = await verifyExportedTrail(dir);
    // The signed manifest's digest catches any edit; the trail procedure must still name the event.
    assert.ok(result.problems.some((problem) => problem.kind === 'export-digest'));
    return { ...result, problems: result.problems.filter((problem) => problem.kind !== 'export-digest') };
  }

  test('round-trips: the export verifies offline exactly as the live trail does', async () => {
    const live = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: trail.signer().publicKey });
    const offline = await verifyExportedTrail(exportDir);
    assert.equal(offline.ok, true, JSON.stringify(offline.problems));
    for (const field of ['eventsChecked', 'checkpointsChecked', 'checkpointsTrusted', 'headSeq', 'headHash', 'checkpointedThroughSeq', 'publicKeyFingerprint'] as const) {
      assert.equal(offline[field], live[field], field);
    }
    assert.equal(offline.manifest.eventCount, TOTAL);
    assert.equal(offline.manifest.consolePublicKeyFingerprint, trail.checkpointer.publicKey().fingerprint);
    assert.equal(readFileSync(path.join(exportDir, AUDIT_EXPORT_FILES.checkpoints), 'utf8'), readFileSync(trail.checkpointFile, 'utf8'));
  });

  test('each line is canonical JSON whose hash is the SM3 of the line without "hash"', () => {
    assert.equal(eventLines.length, TOTAL);
    for (const line of eventLines) {
      const { hash, ...event } = JSON.parse(line);
      assert.equal(canonicalJson({ ...event, hash }), line);
      assert.equal(sm3Hex(canonicalJson(event)), hash);
    }
  });

  test('an auditor can recompute a hash with jq and openssl', { skip: !(hasTool('jq', ['--version']) && hasTool('openssl', ['version'])) && 'jq or openssl missing' }, () => {
    const line = eventLines[41];
    const withoutHash = execFileSync('jq', ['-cjS', 'del(.hash)'], { input: line });
    const digest = execFileSync('openssl', ['dgst', '-sm3', '-r'], { input: withoutHash }).toString().split(' ')[0];
    assert.equal(digest, JSON.parse(line).hash);
  });

  test('refuses to write over an existing export', async () => {
    await assert.rejects(
      exportAuditTrail(trail.db, exportDir, { checkpointFile: trail.checkpointFile, signer: trail.signer() }),
      /already exists/,
    );
  });

  test('a tampered export names the first bad seq', async () => {
    const edited = [...eventLines];
    edited[59] = canonicalJson({ ...JSON.parse(edited[59]), targetId: 'edited' });
    assert.equal((await verifyWithEvents('edited', edited)).firstBadSeq, 60);

    const deleted = eventLines.filter((_, index) => index !== 59);
    assert.deepEqual((await verifyWithEvents('deleted', deleted)).problems.map((problem) => [problem.kind, problem.seq]), [['missing', 60]]);

    const cut = await verifyWithEvents('cut', eventLines.slice(0, 110));
    assert.deepEqual(cut.problems.map((problem) => [problem.kind, problem.seq, problem.throughSeq]), [['truncated', 111, TOTAL]]);

    const garbled = [...eventLines];
    garbled[9] = garbled[9].slice(0, 40);
    assert.deepEqual((await verifyWithEvents('garbled', garbled)).problems.map((problem) => [problem.kind, problem.seq]), [['event-malformed', 10]]);
  });

  test('a malformed row in the database is exported as it is stored and found again offline', { skip: SQLITE_ATTACKER }, async () => {
    const attacker = openAsAttacker(trail.dbFile);
    try {
      writeRow(attacker, { ...readRow(attacker, 30), details: '{"size": 1}' });
    } finally {
      attacker.close();
    }
    const dir = path.join(trail.dir, 'malformed-export');
    await exportAuditTrail(trail.db, dir, { checkpointFile: trail.checkpointFile, signer: trail.signer() });
    const offline = await verifyExportedTrail(dir);
    assert.deepEqual(offline.problems.map((problem) => [problem.kind, problem.seq]), [['event-malformed', 30]]);
    assert.match(offline.problems[0].message, /details is not in canonical form/);
  });
});
