-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "address" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" DATETIME,
    "lastSeenAt" DATETIME,
    "appliedGeneration" INTEGER NOT NULL DEFAULT -1,
    "processStartedAt" TEXT,
    "lastReport" TEXT
);

-- CreateTable
CREATE TABLE "HostEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "hostId" TEXT NOT NULL,
    "time" DATETIME NOT NULL,
    "module" TEXT,
    "version" TEXT,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "receivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "HostEvent_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DesiredModule" (
    "module" TEXT NOT NULL PRIMARY KEY,
    "versions" TEXT NOT NULL,
    "requestTimeoutMs" INTEGER,
    "drainDeadlineMs" INTEGER,
    "handOff" TEXT,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "FleetGeneration" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "generation" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "MetricRollup" (
    "hostId" TEXT NOT NULL,
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "start" DATETIME NOT NULL,
    "seconds" INTEGER NOT NULL,
    "requests" INTEGER NOT NULL,
    "ok" INTEGER NOT NULL,
    "app4xx" INTEGER NOT NULL,
    "errors5xx" INTEGER NOT NULL,
    "timeouts" INTEGER NOT NULL,
    "crashes" INTEGER NOT NULL,
    "p50" INTEGER NOT NULL,
    "p95" INTEGER NOT NULL,
    "p99" INTEGER NOT NULL,
    "max" INTEGER NOT NULL,

    PRIMARY KEY ("hostId", "module", "version", "start")
);

-- CreateIndex
CREATE UNIQUE INDEX "Host_name_key" ON "Host"("name");
CREATE UNIQUE INDEX "Host_tokenHash_key" ON "Host"("tokenHash");
CREATE INDEX "HostEvent_module_time_idx" ON "HostEvent"("module", "time");
CREATE INDEX "HostEvent_hostId_time_idx" ON "HostEvent"("hostId", "time");
CREATE INDEX "MetricRollup_module_start_idx" ON "MetricRollup"("module", "start");

-- Generation 0 is the empty fleet; every change raises it.
INSERT INTO "FleetGeneration" ("id", "generation", "updatedAt") VALUES (1, 0, CURRENT_TIMESTAMP);
