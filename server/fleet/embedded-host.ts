import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/client';
import { describeExit, recordHostDeath, restartDelayMs, type HostExit } from './crash-exclusion';
import { EMBEDDED_HOST_ID, writeEmbeddedJoinToken } from './hosts';
import { mkdirPrivate } from '../secrets-at-rest';

// The console's own runtime host: a child process started with the same flags a remote host uses, restarted
// with backoff when it dies; a death during an in-process call isolates the version that caused it.

export interface EmbeddedHostOptions {
  db: Db;
  /** The host's data folder (HOTPLANE_HOST_DATA_DIR, beside the console's): identity, crash marker, artifact cache, persisted desired state. */
  hostDir: string;
  projectRoot: string;
  /** The fleet listener's port on this machine, and its CA certificate (the host pins it). */
  fleetPort: number;
  caCertificatePem: string;
  hostPort: number;
  log: (line: string) => void;
  /** The host program; tests substitute a stand-in that crashes on cue. */
  entry?: string;
  /**
   * The user the host runs as, outside the console's trust boundary (services.ts: nobody when the console is root);
   * null runs it as the console's own user, which the host then detects (it can read consoleSecrets) and refuses
   * inproc isolation.
   */
  runAs?: { uid: number; gid: number } | null;
  /** Paths of the console's secrets: the host checks it cannot read them before it allows inproc isolation. */
  consoleSecrets?: string[];
}

const HOST_ENTRY = path.join('server', 'host', 'main.ts');
const JOIN_TOKEN_FILE = 'join-token';
const CA_FILE = 'console-ca.pem';

// Uptime after which a death counts as a fresh failure again rather than part of a crash loop.
const STABLE_AFTER_MS = 60_000;
const STDERR_TAIL_LINES = 20;

/** What of the console's environment the host gets: its own settings, never the console's (secrets included). */
const HOST_ENV = [
  'PATH', 'LANG', 'TZ', 'NODE_ENV', 'HOTPLANE_DEMO', 'HOTPLANE_ALLOW_UNSANDBOXED', 'HOTPLANE_BWRAP', 'HOTPLANE_CELL_MEMORY_MIB', 'HOTPLANE_CELL_OPEN_FILES',
  'HOTPLANE_HOST_METRICS_TOKEN',
];

export function embeddedHostEnv(env: NodeJS.ProcessEnv, hostDir: string): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(HOST_ENV.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
  return { ...kept, HOME: hostDir } as unknown as NodeJS.ProcessEnv;
}

// Everything in the host's folder belongs to the host's user: files a console running as root wrote there (the
// join token, an older install's cache) included.
function handOver(dir: string, owner: { uid: number; gid: number }) {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (lstatSync(full).isDirectory()) handOver(full, owner);
    else chownSync(full, owner.uid, owner.gid);
  }
}

// The join token goes by its 0600 file (written by writeEmbeddedJoinToken), never on the command line.
export function embeddedHostArgs(options: { hostDir: string; fleetPort: number; hostPort: number; entry?: string; consoleSecrets?: string[] }): string[] {
  return [
    '--conditions=react-server',
    '--import',
    'tsx',
    options.entry ?? HOST_ENTRY,
    '--control-plane', `https://127.0.0.1:${options.fleetPort}`,
    '--console-ca', path.join(options.hostDir, CA_FILE),
    '--join-token-file', path.join(options.hostDir, JOIN_TOKEN_FILE),
    '--data', options.hostDir,
    '--port', String(options.hostPort),
    '--host-id', EMBEDDED_HOST_ID,
    '--crash-marker', path.join(options.hostDir, 'inproc-call'),
    // One process: the console shares the machine's cores and supervises this process (its crash marker, restarts).
    '--workers', '1',
    // The access log goes to <host data>/access.log (the default), never the console's terminal.
    ...(options.consoleSecrets ?? []).flatMap((file) => ['--console-secret', file]),
  ];
}

export interface EmbeddedHostStatus {
  state: 'running' | 'restarting' | 'stopped';
  pid: number | null;
  restarts: number;
  lastExit: string | null;
  invokeUrl: string;
}

// A host left running by a console that was killed outright still holds the port; it is ours if its command
// line names this host folder, and only then is it stopped.
async function stopStaleHost(pidFile: string, hostDir: string) {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  let commandLine = '';
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!commandLine.includes('--host-id') || !commandLine.includes(hostDir)) return;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
}

export class EmbeddedHostSupervisor {
  private child: ChildProcess | null = null;
  private stopping = false;
  private failures = 0;
  private restarts = 0;
  private lastExit: string | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private stderrTail: string[] = [];
  private readonly pidFile: string;
  private readonly markerFile: string;

  constructor(private readonly options: EmbeddedHostOptions) {
    this.pidFile = path.join(options.hostDir, 'host.pid');
    this.markerFile = path.join(options.hostDir, 'inproc-call');
  }

  get invokeUrl() {
    return `http://127.0.0.1:${this.options.hostPort}`;
  }

  async start() {
    mkdirPrivate(this.options.hostDir);
    // Used only when the host has no valid certificate of this CA (its first start, or after a reset); else it expires unused.
    await writeEmbeddedJoinToken(this.options.db, path.join(this.options.hostDir, JOIN_TOKEN_FILE), this.invokeUrl);
    await writeFile(path.join(this.options.hostDir, CA_FILE), this.options.caCertificatePem, { mode: 0o644 });
    // After the files are written: the host reads them, as its own user.
    if (this.options.runAs) handOver(this.options.hostDir, this.options.runAs);
    await stopStaleHost(this.pidFile, this.options.hostDir);
    this.spawnHost();
    return this;
  }

  private spawnHost() {
    this.restartTimer = null;
    if (this.stopping) return;
    const startedAt = Date.now();
    const runAs = this.options.runAs ?? undefined;
    const child = spawn(process.execPath, embeddedHostArgs(this.options), {
      cwd: this.options.projectRoot,
      env: embeddedHostEnv(process.env, this.options.hostDir),
      stdio: ['ignore', 'inherit', 'pipe'],
      uid: runAs?.uid,
      gid: runAs?.gid,
      // Its own process group, with the cells it starts: the console stops the whole group at once when it must
      // (kill()), and a Ctrl-C in the console's terminal reaches the console alone, which drains the host itself.
      detached: true,
    });
    this.child = child;
    if (child.pid) void writeFile(this.pidFile, `${child.pid}\n`);
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.stderrTail = this.stderrTail.slice(-STDERR_TAIL_LINES);
    });
    let exited = false;
    const onExit = (exit: HostExit) => {
      if (exited) return;
      exited = true;
      void this.afterExit(exit, startedAt);
    };
    child.on('exit', (code, signal) => onExit({ code, signal }));
    child.on('error', (error) => {
      this.options.log(`embedded host could not start: ${error.message}`);
      onExit({ code: null, signal: null });
    });
  }

  private async afterExit(exit: HostExit, startedAt: number) {
    this.child = null;
    this.lastExit = `${describeExit(exit)} at ${new Date().toISOString()}`;
    if (this.stopping) return;
    this.failures = Date.now() - startedAt >= STABLE_AFTER_MS ? 1 : this.failures + 1;
    // Exit code 0 is the host's own orderly shutdown (someone sent it SIGTERM): restarted, but not a crash.
    if (exit.signal || exit.code !== 0) await this.recordDeath(exit);
    // stop() may have come while the death was recorded: a host restarted after it would outlive the console.
    if (this.stopping) return;
    this.stderrTail = [];
    const delay = restartDelayMs(this.failures);
    this.options.log(`embedded host ${describeExit(exit)}; restarting in ${delay / 1000} s`);
    this.restarts += 1;
    this.restartTimer = setTimeout(() => this.spawnHost(), delay);
    this.restartTimer.unref();
  }

  private async recordDeath(exit: HostExit) {
    const marker = await readFile(this.markerFile, 'utf8').catch(() => '');
    try {
      const recorded = await recordHostDeath(this.options.db, EMBEDDED_HOST_ID, exit, marker, this.stderrTail.join('\n'), this.failures);
      if (recorded.isolated) {
        this.options.log(`${recorded.culprit!.module} ${recorded.culprit!.version} crashed the embedded host; it now runs in its own process`);
      }
    } catch (error) {
      this.options.log(`could not record the embedded host's death: ${(error as Error).message}`);
    }
  }

  status(): EmbeddedHostStatus {
    return {
      state: this.child ? 'running' : this.restartTimer ? 'restarting' : 'stopped',
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastExit: this.lastExit,
      invokeUrl: this.invokeUrl,
    };
  }

  /**
   * Synchronous, so it can run in process.on('exit'). The host drains on SIGTERM by itself; its pid file stays,
   * so a console started before the drain ends stops it rather than failing to bind the port.
   */
  stop() {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.child?.kill('SIGTERM');
  }

  /** stop(), resolved once the host has exited (its cells end with it). */
  stopAndWait(): Promise<void> {
    const child = this.child;
    this.stop();
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** At once: SIGKILL to the host's process group (the host and the cells it started; sandboxed ones die with it). */
  kill() {
    this.stop();
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
}
