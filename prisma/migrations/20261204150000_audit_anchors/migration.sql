-- Audit trail verdicts (issue 8 §5): a record in the database of every checkpoint the console wrote, so that an
-- emptied or cut checkpoints file shows as missing coverage; and retention: no event younger than the retention
-- period can be deleted, whatever else a later change allows (server/audit/retention.ts rewrites the period).

CREATE TABLE "AuditCheckpointRecord" (
    "seq" INTEGER NOT NULL PRIMARY KEY,
    "lineHash" TEXT NOT NULL,
    "time" TEXT NOT NULL,
    "keyFingerprint" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL
);

CREATE TRIGGER "AuditCheckpointRecord_no_update" BEFORE UPDATE ON "AuditCheckpointRecord"
BEGIN SELECT RAISE(ABORT, 'checkpoint records are append-only: UPDATE refused'); END;
CREATE TRIGGER "AuditCheckpointRecord_no_delete" BEFORE DELETE ON "AuditCheckpointRecord"
BEGIN SELECT RAISE(ABORT, 'checkpoint records are append-only: DELETE refused'); END;

-- An event whose time cannot be read counts as young.
CREATE TRIGGER "AuditEvent_retention" BEFORE DELETE ON "AuditEvent"
WHEN julianday(OLD."time") IS NULL OR julianday(OLD."time") > julianday('now', '-180 days')
BEGIN SELECT RAISE(ABORT, 'audit retention: events younger than the retention period (180 days) cannot be deleted'); END;
