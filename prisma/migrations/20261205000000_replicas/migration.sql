-- Replicas (issue 9): the rollout engine's leader lease with its fencing epoch, per-second metrics shared between
-- replicas, artifact bytes in the database, claims (the per-digest upload lock) that work across processes, and
-- each checkpoint line anchored in the database so a new leader's checkpoints file continues the same chain.

CREATE TABLE "ClusterLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "renewedAt" DATETIME NOT NULL
);

CREATE TABLE "MetricSecond" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "origin" TEXT NOT NULL,
    "storedAt" DATETIME NOT NULL,
    "hostId" TEXT NOT NULL,
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "second" INTEGER NOT NULL,
    "requests" INTEGER NOT NULL,
    "ok" INTEGER NOT NULL,
    "app4xx" INTEGER NOT NULL,
    "errors5xx" INTEGER NOT NULL,
    "timeouts" INTEGER NOT NULL,
    "crashes" INTEGER NOT NULL,
    "p50" INTEGER NOT NULL,
    "p95" INTEGER NOT NULL,
    "p99" INTEGER NOT NULL,
    "max" INTEGER NOT NULL
);
CREATE INDEX "MetricSecond_storedAt_idx" ON "MetricSecond"("storedAt");

CREATE TABLE "ArtifactBlob" (
    "sm3" TEXT NOT NULL PRIMARY KEY,
    "so" BLOB NOT NULL,
    "manifest" BLOB NOT NULL,
    "signature" BLOB NOT NULL,
    "storedAt" DATETIME NOT NULL
);

CREATE TABLE "ClusterClaim" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "owner" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

ALTER TABLE "AuditCheckpointRecord" ADD COLUMN "line" TEXT;
