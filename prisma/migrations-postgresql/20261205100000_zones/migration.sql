-- Zones and waves (docs/fleet.md#zones, docs/rollouts.md#waves): the PostgreSQL counterpart of
-- prisma/migrations/20261205100000_zones.

-- AlterTable
ALTER TABLE "Host" ADD COLUMN "zone" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "Host" ADD COLUMN "group" TEXT;

-- CreateTable
CREATE TABLE "DesiredZoneModule" (
    "zone" TEXT NOT NULL,
    "module" TEXT NOT NULL,
    "versions" TEXT NOT NULL,
    "handOff" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT NOT NULL,
    PRIMARY KEY ("zone", "module")
);

-- AlterTable
ALTER TABLE "ChangeRequest" ADD COLUMN "waveIndex" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "RolloutPhase" ADD COLUMN "waveIndex" INTEGER;
ALTER TABLE "RolloutDecision" ADD COLUMN "waveIndex" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "RolloutDecision" ADD COLUMN "zoneVerdicts" TEXT;
