// Retention: no audit event younger than the retention period can be deleted, by any statement (DELETE FROM,
// Prisma's delete/deleteMany, a raw connection). A database trigger enforces it, so it holds whatever code
// runs; this module rewrites the trigger (on PostgreSQL, the trigger's function) when the period is set longer
// than the migration's 180 days. Events past the period stay protected too (AuditEvent_no_delete) until a pruning
// procedure exists.
import { MIN_AUDIT_RETENTION_DAYS } from '../config';
import { dialectOfDb, type Db } from '../db/client';

const TRIGGER = 'AuditEvent_retention';

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < MIN_AUDIT_RETENTION_DAYS) {
    throw new Error(`the audit retention period must be a whole number of days ≥ ${MIN_AUDIT_RETENTION_DAYS}, not ${days}`);
  }
}

export function retentionTriggerSql(days: number): string {
  checkDays(days);
  return (
    `CREATE TRIGGER "${TRIGGER}" BEFORE DELETE ON "AuditEvent"\n` +
    `WHEN julianday(OLD."time") IS NULL OR julianday(OLD."time") > julianday('now', '-${days} days')\n` +
    `BEGIN SELECT RAISE(ABORT, 'audit retention: events younger than the retention period (${days} days) cannot be deleted'); END`
  );
}

// The body of the PostgreSQL function the baseline migration creates, for another period.
function postgresRetentionBody(days: number): string {
  return `
DECLARE
  event_time timestamptz;
BEGIN
  BEGIN
    event_time := OLD."time"::timestamptz;
  EXCEPTION WHEN others THEN
    event_time := NULL;
  END;
  IF event_time IS NULL OR event_time > now() - interval '${days} days' THEN
    RAISE EXCEPTION 'audit retention: events younger than the retention period (${days} days) cannot be deleted';
  END IF;
  RETURN OLD;
END `;
}

async function applyPostgresRetention(db: Db, days: number): Promise<void> {
  const wanted = postgresRetentionBody(days);
  const [current] = await db.$queryRaw<{ prosrc: string }[]>`SELECT prosrc FROM pg_proc WHERE proname = ${TRIGGER}`;
  if (current?.prosrc === wanted) return;
  await db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION "${TRIGGER}"() RETURNS trigger LANGUAGE plpgsql AS $$${wanted}$$`);
}

/** Makes the trigger enforce `days`; a no-op when it already does. */
export async function applyAuditRetention(db: Db, days: number): Promise<void> {
  if (dialectOfDb(db) === 'postgresql') {
    checkDays(days);
    return applyPostgresRetention(db, days);
  }
  const wanted = retentionTriggerSql(days);
  const [current] = await db.$queryRawUnsafe<{ sql: string }[]>(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '${TRIGGER}'`);
  if (current?.sql === wanted) return;
  await db.$transaction([db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS "${TRIGGER}"`), db.$executeRawUnsafe(wanted)]);
}
