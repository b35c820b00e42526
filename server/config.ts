import path from 'node:path';

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
  /** bubblewrap, which sandboxes process cells and probes (server/host/sandbox.ts). */
  bwrapPath: string;
  /** Outside demo mode, process cells run unsandboxed without bubblewrap only when this is set. */
  allowUnsandboxed: boolean;
  /** The audit signing key on a PKCS#11 token (server/audit/signing/); null: the SM2 key file in the data folder. */
  auditPkcs11: AuditPkcs11Config | null;
  /** Audit events younger than this cannot be deleted (a database trigger); the regulation's minimum is 180. */
  auditRetentionDays: number;
  /** Optional copies of every checkpoint outside the database and the data folder: "udp:HOST:PORT" or "unix:/dev/log". */
  auditSyslog: string | undefined;
  auditAnchorWebhook: string | undefined;
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

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name}=${raw} is not a positive integer; unset it or give a whole number`);
  }
  return value;
}

function retentionDays(raw: string | undefined): number {
  if (raw === undefined || raw === '') return MIN_AUDIT_RETENTION_DAYS;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < MIN_AUDIT_RETENTION_DAYS) {
    throw new Error(`HOTPLANE_AUDIT_RETENTION_DAYS=${raw}: audit events must be kept at least ${MIN_AUDIT_RETENTION_DAYS} days; give a whole number ≥ ${MIN_AUDIT_RETENTION_DAYS}`);
  }
  return days;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HotplaneConfig {
  const dataDir = path.resolve(env.HOTPLANE_DATA_DIR ?? 'data');
  const forbidden = env.HOTPLANE_FORBIDDEN_EXPORTS
    ? env.HOTPLANE_FORBIDDEN_EXPORTS.split(',').map((p) => p.trim()).filter(Boolean)
    : DEFAULT_FORBIDDEN_EXPORTS;
  return {
    dataDir,
    databaseUrl: env.DATABASE_URL ?? `file:${path.join(dataDir, 'hotplane.db')}`,
    artifactStoreDir: path.resolve(env.HOTPLANE_ARTIFACT_DIR ?? path.join(dataDir, 'artifacts')),
    checkpointFile: path.resolve(env.HOTPLANE_CHECKPOINT_FILE ?? path.join(dataDir, 'audit-checkpoints.jsonl')),
    consoleKeyFile: path.resolve(env.HOTPLANE_CONSOLE_KEY ?? path.join(dataDir, 'console-key.pem')),
    demoMode: env.HOTPLANE_DEMO !== '0',
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
    bwrapPath: env.HOTPLANE_BWRAP ?? '/usr/bin/bwrap',
    allowUnsandboxed: env.HOTPLANE_ALLOW_UNSANDBOXED === '1',
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
  };
}

let cached: HotplaneConfig | undefined;

export function config(): HotplaneConfig {
  cached ??= loadConfig();
  return cached;
}
