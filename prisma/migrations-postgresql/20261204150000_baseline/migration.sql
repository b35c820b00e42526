-- PostgreSQL baseline: every table as prisma/migrations (SQLite) has them up to 20261204150000_audit_anchors.
-- Later schema changes add a folder here beside their SQLite counterpart in prisma/migrations.

-- CreateTable
CREATE TABLE "user" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "roles" TEXT NOT NULL DEFAULT '',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "token" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "userId" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "account" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "accountId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "accessToken" TEXT,
    "refreshToken" TEXT,
    "idToken" TEXT,
    "accessTokenExpiresAt" TIMESTAMP(3),
    "refreshTokenExpiresAt" TIMESTAMP(3),
    "scope" TEXT,
    "password" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "verification" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "rateLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "key" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "lastRequest" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3)
);

-- CreateTable
CREATE TABLE "Signer" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "subjectDn" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "allowedModules" TEXT NOT NULL,
    "notBefore" TIMESTAMP(3) NOT NULL,
    "notAfter" TIMESTAMP(3) NOT NULL,
    "revokedAt" TIMESTAMP(3),
    "revocationReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Module" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "class" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ModuleVersion" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "moduleName" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "major" INTEGER NOT NULL,
    "minor" INTEGER NOT NULL,
    "patch" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "sm3" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "storePath" TEXT NOT NULL,
    "manifestText" TEXT NOT NULL,
    "signatureHex" TEXT NOT NULL,
    "signerId" TEXT NOT NULL,
    "goRuntime" BOOLEAN NOT NULL,
    "reportId" TEXT NOT NULL,
    "uploadedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "revokedReason" TEXT
);

-- CreateTable
CREATE TABLE "VerificationReport" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "outcome" TEXT NOT NULL,
    "moduleName" TEXT,
    "version" TEXT,
    "fileName" TEXT NOT NULL,
    "failedCheck" TEXT,
    "message" TEXT NOT NULL,
    "checks" TEXT NOT NULL,
    "actorId" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "seq" INTEGER NOT NULL PRIMARY KEY,
    "time" TEXT NOT NULL,
    "actorId" TEXT NOT NULL,
    "actorName" TEXT NOT NULL,
    "actorRoles" TEXT NOT NULL,
    "actorKeyFp" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "details" TEXT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "address" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "lastSeenAt" TIMESTAMP(3),
    "appliedGeneration" INTEGER NOT NULL DEFAULT -1,
    "processStartedAt" TEXT,
    "lastReport" TEXT
);

-- CreateTable
CREATE TABLE "HostEvent" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "time" TIMESTAMP(3) NOT NULL,
    "module" TEXT,
    "version" TEXT,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "DesiredModule" (
    "module" TEXT NOT NULL PRIMARY KEY,
    "versions" TEXT NOT NULL,
    "requestTimeoutMs" INTEGER,
    "drainDeadlineMs" INTEGER,
    "handOff" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "FleetGeneration" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "generation" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "MetricRollup" (
    "hostId" TEXT NOT NULL,
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
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

-- CreateTable
CREATE TABLE "UserSigningKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3)
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "submittedAt" TIMESTAMP(3),
    "approvedAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "stepIndex" INTEGER NOT NULL DEFAULT -1,
    "stepPhase" TEXT,
    "stepGeneration" INTEGER,
    "holdUntil" TIMESTAMP(3),
    "stepDeadlineAt" TIMESTAMP(3),
    "pausedAt" TIMESTAMP(3),
    "lastDecisionAt" TIMESTAMP(3),
    "promotedAt" TIMESTAMP(3),
    "warmUntil" TIMESTAMP(3),
    "previousRetiredAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "outcome" TEXT,
    "metricsBefore" TEXT,
    "evidenceDueAt" TIMESTAMP(3),
    "kind" TEXT NOT NULL DEFAULT 'upgrade',
    "desiredBefore" TEXT,
    "desiredAfter" TEXT,
    "approvalHold" TEXT
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
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "voidedAt" TIMESTAMP(3),
    "voidReason" TEXT
);

-- CreateTable
CREATE TABLE "RolloutPhase" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "changeRequestId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "stepIndex" INTEGER,
    "weight" INTEGER,
    "generation" INTEGER,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "confirmedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "result" TEXT,
    "detail" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "RolloutDecision" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "changeRequestId" TEXT NOT NULL,
    "stepIndex" INTEGER NOT NULL,
    "time" TIMESTAMP(3) NOT NULL,
    "verdict" TEXT NOT NULL,
    "metric" TEXT,
    "checks" TEXT NOT NULL,
    "windowFrom" TIMESTAMP(3) NOT NULL,
    "windowTo" TIMESTAMP(3) NOT NULL,
    "canaryRequests" INTEGER NOT NULL,
    "stableRequests" INTEGER NOT NULL, "hostVerdicts" TEXT
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
    "openedAt" TIMESTAMP(3) NOT NULL,
    "openedById" TEXT NOT NULL,
    "openedByName" TEXT NOT NULL,
    "confirmedAt" TIMESTAMP(3),
    "acknowledgedAt" TIMESTAMP(3),
    "acknowledgedById" TEXT,
    "acknowledgedByName" TEXT,
    "note" TEXT,
    "dueAt" TIMESTAMP(3),
    "overdueNotifiedAt" TIMESTAMP(3)
);

-- CreateTable
CREATE TABLE "CircuitOverride" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "module" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "createdById" TEXT NOT NULL,
    "createdByName" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "EvidenceBundle" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "changeRequestId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "content" TEXT NOT NULL,
    "sm3" TEXT NOT NULL,
    "signatureHex" TEXT NOT NULL,
    "keyFingerprint" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Webhook" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "createdBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "webhookId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "attempts" INTEGER NOT NULL,
    "nextAttemptAt" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),
    "failedAt" TIMESTAMP(3),
    "lastStatus" INTEGER,
    "lastError" TEXT
);

-- CreateTable
CREATE TABLE "RoleGrant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "via" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedByName" TEXT NOT NULL,
    "requestedAt" TIMESTAMP(3) NOT NULL,
    "decidedById" TEXT,
    "decidedByName" TEXT,
    "decidedAt" TIMESTAMP(3)
);

-- CreateTable
CREATE TABLE "RetiredDesiredVersion" (
    "module" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sm3" TEXT NOT NULL,
    "retiredAt" TIMESTAMP(3) NOT NULL,
    PRIMARY KEY ("module", "version")
);

-- CreateTable
CREATE TABLE "AuditCheckpointRecord" (
    "seq" INTEGER NOT NULL PRIMARY KEY,
    "lineHash" TEXT NOT NULL,
    "time" TEXT NOT NULL,
    "keyFingerprint" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE INDEX "Approval_changeRequestId_idx" ON "Approval"("changeRequestId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_hash_key" ON "AuditEvent"("hash");

-- CreateIndex
CREATE INDEX "ChangeRequest_module_state_idx" ON "ChangeRequest"("module", "state");

-- CreateIndex
CREATE INDEX "ChangeRequest_state_idx" ON "ChangeRequest"("state");

-- CreateIndex
CREATE INDEX "CircuitOverride_module_createdAt_idx" ON "CircuitOverride"("module", "createdAt");

-- CreateIndex
CREATE INDEX "EvidenceBundle_changeRequestId_idx" ON "EvidenceBundle"("changeRequestId");

-- CreateIndex
CREATE INDEX "HostEvent_hostId_time_idx" ON "HostEvent"("hostId", "time");

-- CreateIndex
CREATE INDEX "HostEvent_module_time_idx" ON "HostEvent"("module", "time");

-- CreateIndex
CREATE UNIQUE INDEX "Host_name_key" ON "Host"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Host_tokenHash_key" ON "Host"("tokenHash");

-- CreateIndex
CREATE INDEX "MetricRollup_module_start_idx" ON "MetricRollup"("module", "start");

-- CreateIndex
CREATE UNIQUE INDEX "ModuleVersion_moduleName_version_key" ON "ModuleVersion"("moduleName", "version");

-- CreateIndex
CREATE UNIQUE INDEX "ModuleVersion_reportId_key" ON "ModuleVersion"("reportId");

-- CreateIndex
CREATE INDEX "ModuleVersion_sm3_idx" ON "ModuleVersion"("sm3");

-- CreateIndex
CREATE INDEX "PostIncidentReview_acknowledgedAt_idx" ON "PostIncidentReview"("acknowledgedAt");

-- CreateIndex
CREATE INDEX "PostIncidentReview_dueAt_idx" ON "PostIncidentReview"("dueAt");

-- CreateIndex
CREATE INDEX "PostIncidentReview_module_openedAt_idx" ON "PostIncidentReview"("module", "openedAt");

-- CreateIndex
CREATE INDEX "RoleGrant_state_idx" ON "RoleGrant"("state");

-- CreateIndex
CREATE INDEX "RoleGrant_userId_role_state_idx" ON "RoleGrant"("userId", "role", "state");

-- CreateIndex
CREATE INDEX "RolloutDecision_changeRequestId_id_idx" ON "RolloutDecision"("changeRequestId", "id");

-- CreateIndex
CREATE INDEX "RolloutPhase_changeRequestId_idx" ON "RolloutPhase"("changeRequestId");

-- CreateIndex
CREATE UNIQUE INDEX "Signer_fingerprint_key" ON "Signer"("fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "Signer_name_key" ON "Signer"("name");

-- CreateIndex
CREATE INDEX "UserSigningKey_fingerprint_idx" ON "UserSigningKey"("fingerprint");

-- CreateIndex
CREATE INDEX "UserSigningKey_userId_idx" ON "UserSigningKey"("userId");

-- CreateIndex
CREATE INDEX "WebhookDelivery_nextAttemptAt_idx" ON "WebhookDelivery"("nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_webhookId_createdAt_idx" ON "WebhookDelivery"("webhookId", "createdAt");

-- CreateIndex
CREATE INDEX "Webhook_kind_idx" ON "Webhook"("kind");

-- CreateIndex
CREATE INDEX "account_userId_idx" ON "account"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "rateLimit_key_key" ON "rateLimit"("key");

-- CreateIndex
CREATE UNIQUE INDEX "session_token_key" ON "session"("token");

-- CreateIndex
CREATE INDEX "session_userId_idx" ON "session"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

-- CreateIndex
CREATE INDEX "verification_identifier_idx" ON "verification"("identifier");

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "account" ADD CONSTRAINT "account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ModuleVersion" ADD CONSTRAINT "ModuleVersion_moduleName_fkey" FOREIGN KEY ("moduleName") REFERENCES "Module"("name") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ModuleVersion" ADD CONSTRAINT "ModuleVersion_signerId_fkey" FOREIGN KEY ("signerId") REFERENCES "Signer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "ModuleVersion" ADD CONSTRAINT "ModuleVersion_reportId_fkey" FOREIGN KEY ("reportId") REFERENCES "VerificationReport"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "HostEvent" ADD CONSTRAINT "HostEvent_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "RolloutPhase" ADD CONSTRAINT "RolloutPhase_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "RolloutDecision" ADD CONSTRAINT "RolloutDecision_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "EvidenceBundle" ADD CONSTRAINT "EvidenceBundle_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_webhookId_fkey" FOREIGN KEY ("webhookId") REFERENCES "Webhook"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- The fleet's one generation row (server/fleet/desired-state.ts).
INSERT INTO "FleetGeneration" ("id", "generation", "updatedAt") VALUES (1, 0, CURRENT_TIMESTAMP);

-- The audit trail and its checkpoint records are append-only: the database itself refuses to change or remove a
-- row, whatever statement or connection tries (TRUNCATE skips row triggers, hence the statement trigger).
CREATE FUNCTION "hotplane_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% are append-only: % refused', TG_ARGV[0], TG_OP;
END $$;

-- An event whose time cannot be read counts as young. server/audit/retention.ts rewrites this function when the
-- settings ask for a longer period.
CREATE FUNCTION "AuditEvent_retention"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event_time timestamptz;
BEGIN
  BEGIN
    event_time := OLD."time"::timestamptz;
  EXCEPTION WHEN others THEN
    event_time := NULL;
  END;
  IF event_time IS NULL OR event_time > now() - interval '180 days' THEN
    RAISE EXCEPTION 'audit retention: events younger than the retention period (180 days) cannot be deleted';
  END IF;
  RETURN OLD;
END $$;

-- PostgreSQL fires a table's triggers in name order: retention first, so refusing a young event names retention.
CREATE TRIGGER "AuditEvent_delete_1_retention" BEFORE DELETE ON "AuditEvent"
FOR EACH ROW EXECUTE FUNCTION "AuditEvent_retention"();
CREATE TRIGGER "AuditEvent_delete_2_no_delete" BEFORE DELETE ON "AuditEvent"
FOR EACH ROW EXECUTE FUNCTION "hotplane_append_only"('audit events');
CREATE TRIGGER "AuditEvent_no_update" BEFORE UPDATE ON "AuditEvent"
FOR EACH ROW EXECUTE FUNCTION "hotplane_append_only"('audit events');
CREATE TRIGGER "AuditEvent_no_truncate" BEFORE TRUNCATE ON "AuditEvent"
FOR EACH STATEMENT EXECUTE FUNCTION "hotplane_append_only"('audit events');

CREATE TRIGGER "AuditCheckpointRecord_no_update" BEFORE UPDATE ON "AuditCheckpointRecord"
FOR EACH ROW EXECUTE FUNCTION "hotplane_append_only"('checkpoint records');
CREATE TRIGGER "AuditCheckpointRecord_no_delete" BEFORE DELETE ON "AuditCheckpointRecord"
FOR EACH ROW EXECUTE FUNCTION "hotplane_append_only"('checkpoint records');
CREATE TRIGGER "AuditCheckpointRecord_no_truncate" BEFORE TRUNCATE ON "AuditCheckpointRecord"
FOR EACH STATEMENT EXECUTE FUNCTION "hotplane_append_only"('checkpoint records');
