-- Zones and waves (docs/fleet.md#zones, docs/rollouts.md#waves): hosts in zones, per-zone desired state while a
-- rollout runs in waves, and where each step, phase and decision stood.

-- AlterTable
ALTER TABLE "Host" ADD COLUMN "zone" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "Host" ADD COLUMN "group" TEXT;

-- CreateTable
CREATE TABLE "DesiredZoneModule" (
    "zone" TEXT NOT NULL,
    "module" TEXT NOT NULL,
    "versions" TEXT NOT NULL,
    "handOff" TEXT,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT NOT NULL,

    PRIMARY KEY ("zone", "module")
);

-- AlterTable
ALTER TABLE "ChangeRequest" ADD COLUMN "waveIndex" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "RolloutPhase" ADD COLUMN "waveIndex" INTEGER;
ALTER TABLE "RolloutDecision" ADD COLUMN "waveIndex" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "RolloutDecision" ADD COLUMN "zoneVerdicts" TEXT;
