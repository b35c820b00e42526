-- Host identity by mutual TLS (docs/fleet.md#host-identity): bearer host tokens give way to one-time join tokens
-- and short-lived client certificates issued by the console's CA. PostgreSQL counterpart of
-- prisma/migrations/20261205000000_host_identity.

-- DropIndex
DROP INDEX "Host_tokenHash_key";

-- AlterTable
ALTER TABLE "Host" DROP COLUMN "tokenHash";

-- CreateTable
CREATE TABLE "HostJoinToken" (
    "tokenHash" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3)
);

-- CreateTable
CREATE TABLE "HostCertificate" (
    "serial" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "notBefore" TIMESTAMP(3) NOT NULL,
    "notAfter" TIMESTAMP(3) NOT NULL,
    "revokedAt" TIMESTAMP(3)
);

-- CreateIndex
CREATE INDEX "HostJoinToken_hostId_idx" ON "HostJoinToken"("hostId");

-- CreateIndex
CREATE INDEX "HostCertificate_hostId_idx" ON "HostCertificate"("hostId");

-- CreateIndex
CREATE INDEX "HostCertificate_revokedAt_idx" ON "HostCertificate"("revokedAt");

-- AddForeignKey
ALTER TABLE "HostJoinToken" ADD CONSTRAINT "HostJoinToken_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HostCertificate" ADD CONSTRAINT "HostCertificate_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
