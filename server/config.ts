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
  /** The embedded host's own data folder, outside dataDir so that nothing of the console's is in reach of it. */
  hostDataDir: string;
  /** bubblewrap, which sandboxes process cells and probes (server/host/sandbox.ts). */
  bwrapPath: string;
  /** Outside demo mode, process cells run unsandboxed without bubblewrap only when this is set. */
  allowUnsandboxed: boolean;
}

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
    hostDataDir: path.resolve(env.HOTPLANE_HOST_DATA_DIR ?? `${dataDir}-host`),
    bwrapPath: env.HOTPLANE_BWRAP ?? '/usr/bin/bwrap',
    allowUnsandboxed: env.HOTPLANE_ALLOW_UNSANDBOXED === '1',
  };
}

let cached: HotplaneConfig | undefined;

export function config(): HotplaneConfig {
  cached ??= loadConfig();
  return cached;
}
