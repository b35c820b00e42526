-- Change requests cover every change of what runs (first version, settings, removal), and break-glass
-- reviews carry a deadline.
ALTER TABLE "ChangeRequest" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'upgrade';
ALTER TABLE "ChangeRequest" ADD COLUMN "desiredBefore" TEXT;
ALTER TABLE "ChangeRequest" ADD COLUMN "desiredAfter" TEXT;
ALTER TABLE "PostIncidentReview" ADD COLUMN "dueAt" DATETIME;
ALTER TABLE "PostIncidentReview" ADD COLUMN "overdueNotifiedAt" DATETIME;
CREATE INDEX "PostIncidentReview_dueAt_idx" ON "PostIncidentReview"("dueAt");
