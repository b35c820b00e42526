-- AlterTable
ALTER TABLE "ChangeRequest" ADD COLUMN "approvalHold" TEXT;

-- CreateTable
CREATE TABLE "RoleGrant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "via" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedByName" TEXT NOT NULL,
    "requestedAt" DATETIME NOT NULL,
    "decidedById" TEXT,
    "decidedByName" TEXT,
    "decidedAt" DATETIME
);

-- CreateIndex
CREATE INDEX "RoleGrant_userId_role_state_idx" ON "RoleGrant"("userId", "role", "state");

-- CreateIndex
CREATE INDEX "RoleGrant_state_idx" ON "RoleGrant"("state");
