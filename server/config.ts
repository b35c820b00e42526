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
  checkpointEvery: number;
  checkpointIntervalMs: number;
  publicOrigin: string | undefined;
  consolePort: number;
  /** Start and supervise a runtime host beside the console (server/fleet/embedded-host.ts). */
  embeddedHost: boolean;
  hostPort: number;
  /** Limits on what one host's report may claim (server/fleet/report-bounds.ts, docs/fleet.md#report-bounds). */
  reportBounds: ReportBoundsConfig;
  /** Hosts whose canary verdicts must pass for a step to pass; 0 = every host that had enough requests. */
  analysisHostQuorum: number;
}

export interface ReportBoundsConfig {
  maxRequestsPerSecond: number;
  clockSkewMs: number;
  maxSeriesPerReport: number;
  maxSeriesPerHost: number;
  /** How long after leaving the desired state a version may still be reported on (draining, resident). */
  retiredGraceSeconds: number;
}

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
    checkpointEvery: positiveInt('HOTPLANE_CHECKPOINT_EVERY', 100),
    checkpointIntervalMs: positiveInt('HOTPLANE_CHECKPOINT_INTERVAL_MS', 60_000),
    publicOrigin: env.HOTPLANE_PUBLIC_ORIGIN,
    consolePort: positiveInt('PORT', 3000),
    embeddedHost: env.HOTPLANE_EMBEDDED_HOST !== '0',
    hostPort: positiveInt('HOTPLANE_HOST_PORT', 7400),
    reportBounds: {
      maxRequestsPerSecond: positiveInt('HOTPLANE_REPORT_MAX_RPS', 50_000, env),
      clockSkewMs: positiveInt('HOTPLANE_REPORT_CLOCK_SKEW_MS', 5_000, env),
      maxSeriesPerReport: positiveInt('HOTPLANE_REPORT_MAX_SERIES', 200, env),
      maxSeriesPerHost: positiveInt('HOTPLANE_HOST_MAX_SERIES', 200, env),
      retiredGraceSeconds: positiveInt('HOTPLANE_REPORT_RETIRED_GRACE_SECONDS', 1_800, env),
    },
    analysisHostQuorum: env.HOTPLANE_ANALYSIS_HOST_QUORUM === '0' ? 0 : positiveInt('HOTPLANE_ANALYSIS_HOST_QUORUM', 0, env),
  };
}

let cached: HotplaneConfig | undefined;

export function config(): HotplaneConfig {
  cached ??= loadConfig();
  return cached;
}
