import path from 'node:path';
import { dialectOf } from './db/dialect';
import type { AccessLogSettings } from './host/access-log';

// Every setting Hotplane reads from the environment, in one place, resolved once per process.
export interface HotplaneConfig {
  dataDir: string;
  databaseUrl: string;
  artifactStoreDir: string;
  checkpointFile: string;
  consoleKeyFile: string;
  demoMode: boolean;
  maxUploadBytes: number;
  forbiddenExportPatterns: RegExp[];
  /** How long an upload's identity probe may take to load the .so and answer the identity calls. */
  identityProbeMs: number;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  publicOrigin: string | undefined;
  consolePort: number;
  /** Start and supervise a runtime host beside the console (server/fleet/embedded-host.ts). */
  embeddedHost: boolean;
  hostPort: number;
  /** The embedded host's own data folder, outside dataDir so that nothing of the console's is in reach of it. */
  hostDataDir: string;
  /**
   * How long SIGTERM/SIGINT may take to drain the console, its embedded host and that host's cells before they are
   * killed: above the host's default drain deadline (30 s), so an orderly drain is not cut short.
   */
  shutdownDeadlineMs: number;
  /** bubblewrap, which sandboxes process cells and probes (server/host/sandbox.ts). */
  bwrapPath: string;
  /** Outside demo mode, process cells run unsandboxed without bubblewrap only when this is set. */
  allowUnsandboxed: boolean;
  /** An approver counts only once they have held the approver role this long (separation of duties). */
  minApproverRoleAgeMs: number;
  /** Granting admin, operator or approver waits for a second admin's confirmation. */
  roleGrantsNeedConfirmation: boolean;
  /** The audit signing key on a PKCS#11 token (server/audit/signing/); null: the SM2 key file in the data folder. */
  auditPkcs11: AuditPkcs11Config | null;
  /** Audit events younger than this cannot be deleted (a database trigger); the regulation's minimum is 180. */
  auditRetentionDays: number;
  /** Optional copies of every checkpoint outside the database and the data folder: "udp:HOST:PORT" or "unix:/dev/log". */
  auditSyslog: string | undefined;
  auditAnchorWebhook: string | undefined;
  /** Limits on what one host's report may claim (server/fleet/report-bounds.ts, docs/fleet.md#report-bounds). */
  reportBounds: ReportBoundsConfig;
  /** The fleet API's own TLS listener, requiring host client certificates (server/fleet/fleet-listener.ts). */
  fleet: FleetIdentityConfig;
  /** Hosts whose canary verdicts must pass for a step to pass; 0 = every host that had enough requests. */
  analysisHostQuorum: number;
  /** A host this long behind the current generation is marked lagging on the Hosts and module pages. */
  hostLagSeconds: number;
  /** The runtime host's access log: rotation and buffering (also read by `hotplane host` on its own). */
  accessLog: AccessLogSettings;
}

export interface ReportBoundsConfig {
  maxRequestsPerSecond: number;
  clockSkewMs: number;
  maxSeriesPerReport: number;
  maxSeriesPerHost: number;
  /** How long after leaving the desired state a version may still be reported on (draining, resident). */
  retiredGraceSeconds: number;
}

export interface FleetIdentityConfig {
  port: number;
  bind: string;
  /** The CA's certificate and key in one 0600 file; replicas point it at one shared secret mount. */
  caFile: string;
  /** Host certificates name spiffe://<trustDomain>/host/<id>. */
  trustDomain: string;
  /** DNS names and IP addresses on the listener's own certificate: what hosts dial. */
  serverNames: string[];
  hostCertHours: number;
  joinTokenMinutes: number;
}

export interface AuditPkcs11Config {
  module: string;
  tokenLabel: string;
  slot: number | undefined;
  keyLabel: string;
  /** The user PIN comes from this file (0600, outside the data folder) or from HOTPLANE_PKCS11_PIN, never argv. */
  pinFile: string | undefined;
  pin: string | undefined;
  initToken: boolean;
}

export const MIN_AUDIT_RETENTION_DAYS = 180;

const DEFAULT_FORBIDDEN_EXPORTS = ['^audit_hook', '^crypto_.*_override$'];

function positiveInt(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name}=${raw} is not a positive integer; unset it or give a whole number`);
  }
  return value;
}

function nonNegativeInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw} is not a whole number of 0 or more; unset it or give one`);
  return value;
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== '0' && raw !== '1') throw new Error(`${name}=${raw} is neither 1 (on) nor 0 (off)`);
  return raw === '1';
}

const DAY_MS = 86_400_000;

/** DATABASE_URL, checked: SQLite (file:) or PostgreSQL (postgresql://), named clearly otherwise. */
function databaseUrl(raw: string | undefined, dataDir: string): string {
  const url = raw ?? `file:${path.join(dataDir, 'hotplane.db')}`;
  dialectOf(url);
  return url;
}

function retentionDays(raw: string | undefined): number {
  if (raw === undefined || raw === '') return MIN_AUDIT_RETENTION_DAYS;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < MIN_AUDIT_RETENTION_DAYS) {
    throw new Error(`HOTPLANE_AUDIT_RETENTION_DAYS=${raw}: audit events must be kept at least ${MIN_AUDIT_RETENTION_DAYS} days; give a whole number ≥ ${MIN_AUDIT_RETENTION_DAYS}`);
  }
  return days;
}

function trustDomain(raw: string | undefined): string {
  const domain = raw?.trim() || 'hotplane.local';
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(domain)) {
    throw new Error(`HOTPLANE_TRUST_DOMAIN=${raw}: a trust domain is a lower-case DNS-like name such as hotplane.local`);
  }
  return domain;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HotplaneConfig {
  const dataDir = path.resolve(env.HOTPLANE_DATA_DIR ?? 'data');
  const forbidden = env.HOTPLANE_FORBIDDEN_EXPORTS
    ? env.HOTPLANE_FORBIDDEN_EXPORTS.split(',').map((p) => p.trim()).filter(Boolean)
    : DEFAULT_FORBIDDEN_EXPORTS;
  const demoMode = env.HOTPLANE_DEMO !== '0';
  return {
    dataDir,
    databaseUrl: databaseUrl(env.DATABASE_URL, dataDir),
    artifactStoreDir: path.resolve(env.HOTPLANE_ARTIFACT_DIR ?? path.join(dataDir, 'artifacts')),
    checkpointFile: path.resolve(env.HOTPLANE_CHECKPOINT_FILE ?? path.join(dataDir, 'audit-checkpoints.jsonl')),
    consoleKeyFile: path.resolve(env.HOTPLANE_CONSOLE_KEY ?? path.join(dataDir, 'console-key.pem')),
    demoMode,
    maxUploadBytes: positiveInt('HOTPLANE_MAX_UPLOAD_BYTES', 256 * 1024 * 1024),
    forbiddenExportPatterns: forbidden.map((p) => new RegExp(p)),
    identityProbeMs: positiveInt('HOTPLANE_IDENTITY_PROBE_MS', 5_000),
    checkpointEvery: positiveInt('HOTPLANE_CHECKPOINT_EVERY', 100),
    checkpointIntervalMs: positiveInt('HOTPLANE_CHECKPOINT_INTERVAL_MS', 60_000),
    publicOrigin: env.HOTPLANE_PUBLIC_ORIGIN,
    consolePort: positiveInt('PORT', 3000),
    embeddedHost: env.HOTPLANE_EMBEDDED_HOST !== '0',
    hostPort: positiveInt('HOTPLANE_HOST_PORT', 7400),
    hostDataDir: path.resolve(env.HOTPLANE_HOST_DATA_DIR ?? `${dataDir}-host`),
    shutdownDeadlineMs: positiveInt('HOTPLANE_SHUTDOWN_DEADLINE_MS', 40_000, env),
    bwrapPath: env.HOTPLANE_BWRAP ?? '/usr/bin/bwrap',
    allowUnsandboxed: env.HOTPLANE_ALLOW_UNSANDBOXED === '1',
    // Production defaults; demo mode (one person clicking through every role) turns both off.
    minApproverRoleAgeMs: nonNegativeInt(env, 'HOTPLANE_MIN_APPROVER_ROLE_AGE_MS', demoMode ? 0 : DAY_MS),
    roleGrantsNeedConfirmation: onOff(env, 'HOTPLANE_ROLE_GRANT_CONFIRMATION', !demoMode),
    auditPkcs11: env.HOTPLANE_PKCS11_MODULE
      ? {
          module: env.HOTPLANE_PKCS11_MODULE,
          tokenLabel: env.HOTPLANE_PKCS11_TOKEN || 'hotplane-console',
          slot: env.HOTPLANE_PKCS11_SLOT ? positiveInt('HOTPLANE_PKCS11_SLOT', 0) : undefined,
          keyLabel: env.HOTPLANE_PKCS11_KEY_LABEL || 'hotplane-audit-signing',
          pinFile: env.HOTPLANE_PKCS11_PIN_FILE ? path.resolve(env.HOTPLANE_PKCS11_PIN_FILE) : undefined,
          pin: env.HOTPLANE_PKCS11_PIN || undefined,
          initToken: env.HOTPLANE_PKCS11_INIT_TOKEN === '1',
        }
      : null,
    auditRetentionDays: retentionDays(env.HOTPLANE_AUDIT_RETENTION_DAYS),
    auditSyslog: env.HOTPLANE_AUDIT_SYSLOG || undefined,
    auditAnchorWebhook: env.HOTPLANE_AUDIT_ANCHOR_WEBHOOK || undefined,
    reportBounds: {
      maxRequestsPerSecond: positiveInt('HOTPLANE_REPORT_MAX_RPS', 50_000, env),
      clockSkewMs: positiveInt('HOTPLANE_REPORT_CLOCK_SKEW_MS', 5_000, env),
      maxSeriesPerReport: positiveInt('HOTPLANE_REPORT_MAX_SERIES', 200, env),
      maxSeriesPerHost: positiveInt('HOTPLANE_HOST_MAX_SERIES', 200, env),
      retiredGraceSeconds: positiveInt('HOTPLANE_REPORT_RETIRED_GRACE_SECONDS', 1_800, env),
    },
    fleet: {
      port: positiveInt('HOTPLANE_FLEET_PORT', 7443, env),
      bind: env.HOTPLANE_FLEET_BIND || '0.0.0.0',
      caFile: path.resolve(env.HOTPLANE_FLEET_CA_FILE ?? path.join(dataDir, 'fleet-ca', 'fleet-ca.pem')),
      trustDomain: trustDomain(env.HOTPLANE_TRUST_DOMAIN),
      serverNames: (env.HOTPLANE_FLEET_SERVER_NAMES || 'localhost,127.0.0.1').split(',').map((n) => n.trim()).filter(Boolean),
      hostCertHours: positiveInt('HOTPLANE_HOST_CERT_HOURS', 24, env),
      joinTokenMinutes: positiveInt('HOTPLANE_JOIN_TOKEN_MINUTES', 60, env),
    },
    analysisHostQuorum: env.HOTPLANE_ANALYSIS_HOST_QUORUM === '0' ? 0 : positiveInt('HOTPLANE_ANALYSIS_HOST_QUORUM', 0, env),
    hostLagSeconds: positiveInt('HOTPLANE_HOST_LAG_SECONDS', 30, env),
    accessLog: accessLogSettings(env),
  };
}

const MIB = 1024 * 1024;

/** HOTPLANE_ACCESS_LOG_*: a runtime host reads these without the console's other settings. */
export function accessLogSettings(env: NodeJS.ProcessEnv = process.env): AccessLogSettings {
  return {
    maxFileBytes: positiveInt('HOTPLANE_ACCESS_LOG_MAX_MIB', 64, env) * MIB,
    keepFiles: nonNegativeInt(env, 'HOTPLANE_ACCESS_LOG_KEEP', 5),
    flushIntervalMs: positiveInt('HOTPLANE_ACCESS_LOG_FLUSH_MS', 200, env),
    bufferLines: positiveInt('HOTPLANE_ACCESS_LOG_BUFFER_LINES', 8192, env),
    maxPendingBytes: positiveInt('HOTPLANE_ACCESS_LOG_MAX_PENDING_MIB', 16, env) * MIB,
  };
}

let cached: HotplaneConfig | undefined;

export function config(): HotplaneConfig {
  cached ??= loadConfig();
  return cached;
}
