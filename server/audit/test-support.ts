// Shared by the audit tests: a real SQLite trail in a temp dir, and the attacker's own connection to it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDb, type Db } from '../db/client';
import { testDatabaseUrl, testsOnPostgres } from '../testing/test-database';
import type { AuditActor } from './actor';
import { appendAuditEvent } from './append';
import { rowOf, readEventRow, type AuditEventRow } from './chain';
import { AuditCheckpointer } from './checkpoints';
import { fileSigner } from './signing/file-signer';
import type { AuditSigner } from './signing/signer';

export const TEST_ACTOR: AuditActor = { id: 'u-ops', name: 'ops@example.cn', roles: ['operator'] };

export interface TestTrail {
  dir: string;
  /** The SQLite file (tests that tamper through a direct SQLite connection run on SQLite only). */
  dbFile: string;
  databaseUrl: string;
  db: Db;
  checkpointFile: string;
  keyFile: string;
  /** The signer the checkpointer uses (opened on first use). */
  signer(): AuditSigner;
  checkpointer: AuditCheckpointer;
  close(): Promise<void>;
}

export function createTestTrail(
  options: { checkpointEvery?: number; checkpointIntervalMs?: number; now?: () => Date; signer?: () => AuditSigner; databaseUrl?: string } = {},
): TestTrail {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-audit-'));
  const dbFile = path.join(dir, 't.db');
  const databaseUrl = options.databaseUrl ?? testDatabaseUrl(dbFile);
  const db = createDb(databaseUrl);
  const checkpointFile = path.join(dir, 'audit-checkpoints.jsonl');
  const keyFile = path.join(dir, 'keys', 'console-key.pem');
  let opened: AuditSigner | undefined;
  const signer = () => (opened ??= (options.signer ?? (() => fileSigner(keyFile)))());
  const checkpointer = new AuditCheckpointer({
    checkpointFile,
    signer,
    legacyKeyFile: keyFile,
    checkpointEvery: options.checkpointEvery ?? 100,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
    now: options.now,
  });
  return {
    dir,
    dbFile,
    databaseUrl,
    db,
    checkpointFile,
    keyFile,
    signer,
    checkpointer,
    async close() {
      await checkpointer.stop();
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Appends `count` events in one transaction, as a busy control plane would. */
export async function appendTestEvents(db: Db, count: number): Promise<void> {
  await db.$transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      await appendAuditEvent(tx, {
        actor: TEST_ACTOR,
        action: i % 2 === 0 ? 'artifact.accepted' : 'artifact.rejected',
        targetType: 'artifact',
        targetId: `ledger@1.${i}.0`,
        details: { sm3: 'ab'.repeat(32), size: 15872 + i, checks: ['digest', 'signature'], note: `第${i}号 "quoted"` },
      });
    }
  });
}

/**
 * Appends `total` events with a checkpoint after every `every` of them (and none for the remainder),
 * so tests control exactly which events signed checkpoints cover.
 */
export async function buildCheckpointedTrail(trail: TestTrail, total: number, every: number): Promise<void> {
  for (let appended = 0; appended < total; appended += every) {
    const batch = Math.min(every, total - appended);
    await appendTestEvents(trail.db, batch);
    if (batch === every) await trail.checkpointer.checkpointNow(trail.db);
  }
}

/** The skip reason of tests that tamper through a direct SQLite connection, on the PostgreSQL pass. */
export const SQLITE_ATTACKER = testsOnPostgres() && 'tampers through a direct SQLite connection (the verifier reads rows through Prisma alike on both dialects; PostgreSQL triggers: append.test.ts)';

/** A direct connection that first removes the append-only and retention triggers, as someone with the database file could. */
export function openAsAttacker(dbFile: string): Database.Database {
  const connection = new Database(dbFile);
  connection.exec(
    'DROP TRIGGER IF EXISTS "AuditEvent_no_update"; DROP TRIGGER IF EXISTS "AuditEvent_no_delete"; DROP TRIGGER IF EXISTS "AuditEvent_retention";',
  );
  return connection;
}

export function readRow(connection: Database.Database, seq: number): AuditEventRow {
  return connection.prepare('SELECT * FROM "AuditEvent" WHERE seq = ?').get(seq) as AuditEventRow;
}

const UPDATE_ROW = `UPDATE "AuditEvent" SET time = @time, actorId = @actorId, actorName = @actorName, actorRoles = @actorRoles,
  actorKeyFp = @actorKeyFp, action = @action, targetType = @targetType, targetId = @targetId, details = @details,
  prevHash = @prevHash, hash = @hash WHERE seq = @seq`;

export function writeRow(connection: Database.Database, row: AuditEventRow): void {
  connection.prepare(UPDATE_ROW).run(row);
}

/** Re-hashes every event from `fromSeq` on so the chain is internally consistent again: the strongest DB-only attack. */
export function recomputeChainFrom(connection: Database.Database, fromSeq: number): void {
  const rows = connection.prepare('SELECT * FROM "AuditEvent" WHERE seq >= ? ORDER BY seq').all(fromSeq) as AuditEventRow[];
  let prevHash = readRow(connection, fromSeq - 1).hash;
  connection.transaction(() => {
    for (const row of rows) {
      const read = readEventRow(row);
      if (!read.ok) throw new Error(read.message);
      const rewritten = rowOf({ ...read.content, prevHash });
      writeRow(connection, rewritten);
      prevHash = rewritten.hash;
    }
  })();
}
