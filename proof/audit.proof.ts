// Audit at scale: a real SQLite trail of 100,000 events (20,000 short) with signed checkpoints, verified whole, then
// attacked the six ways server/audit/verify.test.ts attacks a 320-event trail. Each attack gets its own copy of the
// untouched trail and one full verification, which must notice it and name the exact first tampered seq.
import { copyFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { appendAuditEvent, type AuditEventInput } from '../server/audit/append';
import { canonicalJson } from '../server/audit/canonical-json';
import { readEventRow, rowOf, type AuditEventRow } from '../server/audit/chain';
import { createTestTrail, openAsAttacker, readRow, recomputeChainFrom, TEST_ACTOR, writeRow } from '../server/audit/test-support';
import { verifyAuditTrail, type AuditVerification } from '../server/audit/verify';
import { createDb, type DbTransaction } from '../server/db/client';
import { markdownTable, startProof } from './support/proof-result';

const proof = startProof('audit', 'Audit trail at scale');
const EVENTS = proof.result.short ? 20_000 : 100_000;
/**
 * One signed checkpoint per 1,000 events, 100 for the full trail (the console's default is one per 100 events). An
 * intact checkpoints file costs one signature check whatever its length, and the per-event hash prefixes name the
 * exact event either way; a thousand signatures would only lengthen the build.
 */
const CHECKPOINT_EVERY = 1_000;
/** The first batch goes through Prisma exactly as the console appends; the rest through the same function, faster. */
const PRISMA_EVENTS = 1_000;
// Victims sit inside checkpoint ranges, away from their edges, at the same place in either trail length.
const VICTIM = Math.floor(EVENTS * 0.75) + 137;
const CUT_AFTER = Math.floor(EVENTS * 0.9) + 250;

function eventInput(i: number): AuditEventInput {
  return {
    actor: TEST_ACTOR,
    action: i % 2 === 0 ? 'artifact.accepted' : 'artifact.rejected',
    targetType: 'artifact',
    targetId: `ledger@1.${i}.0`,
    details: { sm3: 'ab'.repeat(32), size: 15872 + i, checks: ['digest', 'signature'], note: `第${i}号 "quoted"` },
  };
}

const INSERT_ROW = `INSERT INTO "AuditEvent" (seq, time, actorId, actorName, actorRoles, actorKeyFp, action, targetType, targetId, details, prevHash, hash)
  VALUES (@seq, @time, @actorId, @actorName, @actorRoles, @actorKeyFp, @action, @targetType, @targetId, @details, @prevHash, @hash)`;

/**
 * appendAuditEvent reads the head (auditEvent.findFirst) and inserts the next row (auditEvent.create) in the caller's
 * transaction. Through Prisma an event costs ~0.5 ms on a 2-core machine once warm, so 100,000 would take most of this
 * proof's minute; this connection answers those two calls on the same file, triggers and all, so every event is still
 * canonicalised, chained and hashed by the console's own code. The checkpointer re-verifies each batch before signing.
 */
function directTransaction(connection: Database.Database): DbTransaction {
  const head = connection.prepare('SELECT seq, hash FROM "AuditEvent" ORDER BY seq DESC LIMIT 1');
  const insert = connection.prepare(INSERT_ROW);
  const auditEvent = {
    findFirst: async () => (head.get() as { seq: number; hash: string } | undefined) ?? null,
    create: async ({ data }: { data: AuditEventRow }) => {
      insert.run(data);
      return data;
    },
  };
  return { auditEvent } as unknown as DbTransaction;
}

const trail = createTestTrail({ checkpointEvery: CHECKPOINT_EVERY });
const publicKey = trail.checkpointer.publicKey().pem;
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function buildTrail(): Promise<{ prismaPerSecond: number; directPerSecond: number; checkpoints: number }> {
  let started = performance.now();
  await trail.db.$transaction(async (tx) => {
    for (let i = 0; i < PRISMA_EVENTS; i++) await appendAuditEvent(tx, eventInput(i));
  });
  const prismaPerSecond = PRISMA_EVENTS / ((performance.now() - started) / 1000);
  let checkpoints = (await trail.checkpointer.checkpointNow(trail.db)) ? 1 : 0;
  // A plain connection: unlike the attacker's, it leaves the append-only triggers in place.
  const connection = new Database(trail.dbFile, { timeout: 5_000 });
  const tx = directTransaction(connection);
  let directMs = 0;
  try {
    for (let appended = PRISMA_EVENTS; appended < EVENTS; appended += CHECKPOINT_EVERY) {
      started = performance.now();
      connection.exec('BEGIN IMMEDIATE');
      try {
        for (let i = appended; i < Math.min(EVENTS, appended + CHECKPOINT_EVERY); i++) await appendAuditEvent(tx, eventInput(i));
        connection.exec('COMMIT');
      } catch (error) {
        connection.exec('ROLLBACK');
        throw error;
      }
      directMs += performance.now() - started;
      if (await trail.checkpointer.checkpointNow(trail.db)) checkpoints++;
    }
    // Everything into the main file, so a plain copy of it is the whole trail.
    const [wal] = connection.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    if (wal.busy !== 0 || wal.log !== wal.checkpointed) throw new Error(`the WAL could not be folded into ${trail.dbFile}: ${JSON.stringify(wal)}`);
  } finally {
    connection.close();
  }
  return { prismaPerSecond, directPerSecond: (EVENTS - PRISMA_EVENTS) / (directMs / 1000), checkpoints };
}

function editDetails(attacker: Database.Database, seq: number): void {
  const row = readRow(attacker, seq);
  writeRow(attacker, { ...row, details: canonicalJson({ ...JSON.parse(row.details), size: 1 }) });
}

interface TamperCase {
  name: string;
  how: string;
  /** The first seq that is no longer as it was written: what the verifier must name. */
  tampered: number;
  tamper(attacker: Database.Database): void;
}

// The attacks of server/audit/verify.test.ts, as that test performs them, at this trail's scale.
const CASES: TamperCase[] = [
  {
    name: 'edited row',
    how: `\`details\` of ${VICTIM} changed, its hash left alone`,
    tampered: VICTIM,
    tamper: (attacker) => editDetails(attacker, VICTIM),
  },
  {
    name: 'deleted row',
    how: `${VICTIM} deleted, nothing renumbered`,
    tampered: VICTIM,
    tamper: (attacker) => attacker.prepare('DELETE FROM "AuditEvent" WHERE seq = ?').run(VICTIM),
  },
  {
    name: 'inserted row',
    how: `${VICTIM}…${EVENTS} renumbered one up; a forged row at ${VICTIM}, hashed and linked to ${VICTIM - 1}`,
    tampered: VICTIM,
    tamper: (attacker) => {
      const shift = attacker.prepare('UPDATE "AuditEvent" SET seq = seq + 1 WHERE seq = ?');
      attacker.transaction(() => {
        for (let seq = EVENTS; seq >= VICTIM; seq--) shift.run(seq);
      })();
      const before = readRow(attacker, VICTIM - 1);
      const template = readEventRow(before);
      if (!template.ok) throw new Error(`event ${VICTIM - 1} cannot be read: ${template.message}`);
      const forged = rowOf({ ...template.content, seq: VICTIM, targetId: 'forged', prevHash: before.hash });
      attacker.prepare(INSERT_ROW).run(forged);
    },
  },
  {
    name: 'reordered rows',
    how: `${VICTIM} and ${VICTIM + 5} swapped whole, hashes included`,
    tampered: VICTIM,
    tamper: (attacker) => {
      const earlier = readRow(attacker, VICTIM);
      const later = readRow(attacker, VICTIM + 5);
      // hash is UNIQUE: park the earlier row on a placeholder while the later one takes its hash.
      writeRow(attacker, { ...earlier, hash: 'placeholder' });
      writeRow(attacker, { ...earlier, seq: VICTIM + 5 });
      writeRow(attacker, { ...later, seq: VICTIM });
    },
  },
  {
    name: 'truncated tail',
    how: `every row after ${CUT_AFTER} deleted`,
    tampered: CUT_AFTER + 1,
    tamper: (attacker) => attacker.prepare('DELETE FROM "AuditEvent" WHERE seq > ?').run(CUT_AFTER),
  },
  {
    name: 'recomputed chain',
    how: `${VICTIM} edited, then every later \`hash\` and \`prevHash\` recomputed`,
    tampered: VICTIM,
    tamper: (attacker) => {
      editDetails(attacker, VICTIM);
      recomputeChainFrom(attacker, VICTIM);
    },
  },
];

/** A copy of the untouched trail, tampered with through the attacker's connection, then verified by the console's code. */
async function attack(tamperCase: TamperCase): Promise<{ result: AuditVerification; ms: number }> {
  const dbFile = path.join(trail.dir, 'attacked.db');
  const checkpointFile = path.join(trail.dir, 'attacked-checkpoints.jsonl');
  copyFileSync(trail.dbFile, dbFile);
  copyFileSync(trail.checkpointFile, checkpointFile);
  try {
    const attacker = openAsAttacker(dbFile);
    try {
      tamperCase.tamper(attacker);
    } finally {
      attacker.close();
    }
    const db = createDb(`file:${dbFile}`);
    try {
      const started = performance.now();
      const result = await verifyAuditTrail(db, { checkpointFile, publicKey });
      return { result, ms: performance.now() - started };
    } finally {
      await db.$disconnect();
    }
  } finally {
    for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, checkpointFile]) rmSync(file, { force: true });
  }
}

// "hash-mismatch 75138–100001; checkpoint-mismatch ×25 from 75137": what was reported, short enough for a table cell.
function problemSummary(result: AuditVerification): string {
  const byKind = new Map<string, string[]>();
  for (const problem of result.problems) {
    const where = problem.seq === null ? `line ${problem.checkpointLine ?? '?'}` : problem.throughSeq && problem.throughSeq !== problem.seq ? `${problem.seq}–${problem.throughSeq}` : `${problem.seq}`;
    byKind.set(problem.kind, [...(byKind.get(problem.kind) ?? []), where]);
  }
  const parts = [...byKind].map(([kind, places]) => (places.length <= 3 ? `${kind} ${places.join(', ')}` : `${kind} ×${places.length} from ${places[0]}`));
  return parts.join('; ') + (result.problemsOmitted > 0 ? `; ${result.problemsOmitted} more` : '') || 'none';
}

const sections: string[] = [];
try {
  const built = await buildTrail();
  const started = performance.now();
  const untouched = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey });
  const verifyMs = performance.now() - started;
  const perSecond = untouched.eventsChecked / (verifyMs / 1000);
  const intact = untouched.ok && untouched.eventsChecked === EVENTS && untouched.checkpointedThroughSeq === EVENTS;
  if (!intact) proof.result.failures.push(`the untouched trail does not verify: ${problemSummary(untouched)}; ${untouched.eventsChecked} events checked`);
  proof.figure({ name: 'events in the trail', value: untouched.eventsChecked, goal: proof.result.short ? '20,000 (short form)' : '≥ 100,000', met: untouched.eventsChecked >= EVENTS });
  proof.figure({ name: 'untouched trail verifies', value: intact ? 'ok, no problems' : problemSummary(untouched), goal: 'ok, every event covered by a signed checkpoint', met: intact });
  proof.figure({ name: 'full verification throughput', value: Math.round(perSecond), unit: 'events/s' });
  proof.figure({ name: 'full verification time', value: Number(seconds(verifyMs)), unit: 's' });
  sections.push(
    `### The trail\n\n${EVENTS.toLocaleString('en')} events in a SQLite file with the console's schema and its append-only ` +
      `triggers, appended by \`appendAuditEvent\` in transactions of ${CHECKPOINT_EVERY.toLocaleString('en')}: the first ` +
      `${PRISMA_EVENTS.toLocaleString('en')} through Prisma as the console writes them, the rest through a direct connection ` +
      'answering the same two calls (read the head, insert the row) so the build fits in the time limit. After each batch ' +
      "the console's checkpointer re-verified the new events and signed a checkpoint.\n\n" +
      markdownTable(
        ['', 'value'],
        [
          ['events', EVENTS.toLocaleString('en')],
          ['signed checkpoints', `${built.checkpoints} (one per ${CHECKPOINT_EVERY.toLocaleString('en')} events)`],
          ['database file', `${(statSync(trail.dbFile).size / 2 ** 20).toFixed(1)} MiB`],
          ['append through Prisma (console path; the first batch, with the client starting up)', `${Math.round(built.prismaPerSecond).toLocaleString('en')} events/s`],
          ['append through the direct connection', `${Math.round(built.directPerSecond).toLocaleString('en')} events/s`],
          ['full verification (every hash, link and checkpoint)', `${seconds(verifyMs)} s, ${Math.round(perSecond).toLocaleString('en')} events/s`],
          ['result', intact ? `ok: ${untouched.checkpointsTrusted} checkpoints trusted, covered through seq ${untouched.checkpointedThroughSeq}` : problemSummary(untouched)],
        ],
      ),
  );

  const rows: (string | number)[][] = [];
  for (const tamperCase of CASES) {
    try {
      const { result, ms } = await attack(tamperCase);
      const detected = !result.ok;
      const exact = detected && result.firstBadSeq === tamperCase.tampered;
      proof.figure({
        name: `tamper: ${tamperCase.name}`,
        value: detected ? `detected, first bad seq ${result.firstBadSeq}` : 'not detected',
        goal: `detected, naming seq ${tamperCase.tampered}`,
        met: exact,
      });
      rows.push([tamperCase.name, tamperCase.how, tamperCase.tampered, detected ? 'yes' : '**no**', result.firstBadSeq ?? '—', exact ? 'yes' : '**no**', problemSummary(result), seconds(ms)]);
    } catch (error) {
      proof.result.failures.push(`${tamperCase.name}: ${error instanceof Error ? error.message : String(error)}`);
      rows.push([tamperCase.name, tamperCase.how, tamperCase.tampered, 'broke', '—', '—', error instanceof Error ? error.message : String(error), '—']);
    }
  }
  sections.push(
    "### Tampering\n\nEach case starts from a copy of the untouched trail and its checkpoints file, tampers through a direct SQLite connection after `DROP TRIGGER` (someone with the database file), and runs one full verification.\n\n" +
      markdownTable(['case', 'tampering', 'seq tampered', 'detected', 'first bad seq named', 'exact', 'problems reported', 'verification (s)'], rows),
  );
} catch (error) {
  proof.result.failures.push(`audit proof broke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await trail.close();
  proof.result.markdown = sections.join('\n\n');
  proof.finish();
}
