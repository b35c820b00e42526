-- Host identity by mutual TLS (docs/fleet.md#host-identity): bearer host tokens give way to one-time join tokens
-- and short-lived client certificates issued by the console's CA.

-- DropIndex
DROP INDEX "Host_tokenHash_key";

-- AlterTable
ALTER TABLE "Host" DROP COLUMN "tokenHash";

-- CreateTable
CREATE TABLE "HostJoinToken" (
    "tokenHash" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    CONSTRAINT "HostJoinToken_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "HostCertificate" (
    "serial" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "revokedAt" DATETIME,
    CONSTRAINT "HostCertificate_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "HostJoinToken_hostId_idx" ON "HostJoinToken"("hostId");

-- CreateIndex
CREATE INDEX "HostCertificate_hostId_idx" ON "HostCertificate"("hostId");

-- CreateIndex
CREATE INDEX "HostCertificate_revokedAt_idx" ON "HostCertificate"("revokedAt");
