-- Host reports as untrusted input (docs/fleet.md#report-bounds): versions that left the desired state, and
-- per-host canary verdicts on each analysis decision.

-- CreateTable
CREATE TABLE "RetiredDesiredVersion" (
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sm3" TEXT NOT NULL,
    "retiredAt" DATETIME NOT NULL,

    PRIMARY KEY ("module", "version")
);

-- AlterTable
ALTER TABLE "RolloutDecision" ADD COLUMN "hostVerdicts" TEXT;
