-- Replicas (issue 9), PostgreSQL: the rollout engine's leader lease with its fencing epoch, per-second metrics
-- shared between replicas, artifact bytes in the database, claims (the per-digest upload lock) that work across
-- processes, and each checkpoint line anchored in the database so a new leader's checkpoints file continues the
-- same chain.

CREATE TABLE "ClusterLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "renewedAt" TIMESTAMP(3) NOT NULL
);

CREATE TABLE "MetricSecond" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "origin" TEXT NOT NULL,
    "storedAt" TIMESTAMP(3) NOT NULL,
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
    "so" BYTEA NOT NULL,
    "manifest" BYTEA NOT NULL,
    "signature" BYTEA NOT NULL,
    "storedAt" TIMESTAMP(3) NOT NULL
);

CREATE TABLE "ClusterClaim" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "owner" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL
);

ALTER TABLE "AuditCheckpointRecord" ADD COLUMN "line" TEXT;
