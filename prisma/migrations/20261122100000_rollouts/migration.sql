-- CreateTable
CREATE TABLE "UserSigningKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" DATETIME
);

-- CreateTable
CREATE TABLE "ChangeRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "module" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "digest" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "fromVersion" TEXT NOT NULL,
    "fromSm3" TEXT NOT NULL,
    "fromIsolation" TEXT NOT NULL,
    "toVersion" TEXT NOT NULL,
    "toSm3" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "ticket" TEXT NOT NULL,
    "stateHandOff" BOOLEAN NOT NULL,
    "requiredApprovals" INTEGER NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedByName" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "submittedAt" DATETIME,
    "approvedAt" DATETIME,
    "startedAt" DATETIME,
    "stepIndex" INTEGER NOT NULL DEFAULT -1,
    "stepPhase" TEXT,
    "stepGeneration" INTEGER,
    "holdUntil" DATETIME,
    "stepDeadlineAt" DATETIME,
    "pausedAt" DATETIME,
    "lastDecisionAt" DATETIME,
    "promotedAt" DATETIME,
    "warmUntil" DATETIME,
    "previousRetiredAt" DATETIME,
    "finishedAt" DATETIME,
    "outcome" TEXT,
    "metricsBefore" TEXT,
    "evidenceDueAt" DATETIME
);

-- CreateTable
CREATE TABLE "Approval" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "changeRequestId" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "digest" TEXT NOT NULL,
    "decision" TEXT NOT NULL,
    "approverId" TEXT NOT NULL,
    "approverName" TEXT NOT NULL,
    "keyFingerprint" TEXT,
    "signatureHex" TEXT,
    "reason" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    "voidedAt" DATETIME,
    "voidReason" TEXT,
    CONSTRAINT "Approval_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RolloutPhase" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "changeRequestId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "stepIndex" INTEGER,
    "weight" INTEGER,
    "generation" INTEGER,
    "startedAt" DATETIME NOT NULL,
    "confirmedAt" DATETIME,
    "endedAt" DATETIME,
    "result" TEXT,
    "detail" TEXT NOT NULL,
    CONSTRAINT "RolloutPhase_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RolloutDecision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "changeRequestId" TEXT NOT NULL,
    "stepIndex" INTEGER NOT NULL,
    "time" DATETIME NOT NULL,
    "verdict" TEXT NOT NULL,
    "metric" TEXT,
    "checks" TEXT NOT NULL,
    "windowFrom" DATETIME NOT NULL,
    "windowTo" DATETIME NOT NULL,
    "canaryRequests" INTEGER NOT NULL,
    "stableRequests" INTEGER NOT NULL,
    CONSTRAINT "RolloutDecision_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PostIncidentReview" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "module" TEXT NOT NULL,
    "changeRequestId" TEXT,
    "rolledBackFrom" TEXT NOT NULL,
    "rolledBackTo" TEXT NOT NULL,
    "warm" BOOLEAN NOT NULL,
    "generation" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "openedAt" DATETIME NOT NULL,
    "openedById" TEXT NOT NULL,
    "openedByName" TEXT NOT NULL,
    "confirmedAt" DATETIME,
    "acknowledgedAt" DATETIME,
    "acknowledgedById" TEXT,
    "acknowledgedByName" TEXT,
    "note" TEXT
);

-- CreateTable
CREATE TABLE "CircuitOverride" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "module" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "createdById" TEXT NOT NULL,
    "createdByName" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "EvidenceBundle" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "changeRequestId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "content" TEXT NOT NULL,
    "sm3" TEXT NOT NULL,
    "signatureHex" TEXT NOT NULL,
    "keyFingerprint" TEXT NOT NULL,
    CONSTRAINT "EvidenceBundle_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Webhook" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "createdBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "webhookId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "attempts" INTEGER NOT NULL,
    "nextAttemptAt" DATETIME,
    "deliveredAt" DATETIME,
    "failedAt" DATETIME,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    CONSTRAINT "WebhookDelivery_webhookId_fkey" FOREIGN KEY ("webhookId") REFERENCES "Webhook" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "UserSigningKey_userId_idx" ON "UserSigningKey"("userId");
CREATE INDEX "UserSigningKey_fingerprint_idx" ON "UserSigningKey"("fingerprint");
CREATE INDEX "ChangeRequest_module_state_idx" ON "ChangeRequest"("module", "state");
CREATE INDEX "ChangeRequest_state_idx" ON "ChangeRequest"("state");
CREATE INDEX "Approval_changeRequestId_idx" ON "Approval"("changeRequestId");
CREATE INDEX "RolloutPhase_changeRequestId_idx" ON "RolloutPhase"("changeRequestId");
CREATE INDEX "RolloutDecision_changeRequestId_id_idx" ON "RolloutDecision"("changeRequestId", "id");
CREATE INDEX "PostIncidentReview_module_openedAt_idx" ON "PostIncidentReview"("module", "openedAt");
CREATE INDEX "PostIncidentReview_acknowledgedAt_idx" ON "PostIncidentReview"("acknowledgedAt");
CREATE INDEX "CircuitOverride_module_createdAt_idx" ON "CircuitOverride"("module", "createdAt");
CREATE INDEX "EvidenceBundle_changeRequestId_idx" ON "EvidenceBundle"("changeRequestId");
CREATE INDEX "Webhook_kind_idx" ON "Webhook"("kind");
CREATE INDEX "WebhookDelivery_nextAttemptAt_idx" ON "WebhookDelivery"("nextAttemptAt");
CREATE INDEX "WebhookDelivery_webhookId_createdAt_idx" ON "WebhookDelivery"("webhookId", "createdAt");
