import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createAccessLog } from './access-log';
import { ControlPlaneAgent } from './agent';
import { resolveCellLimits } from './cell-limits';
import { LocalBreakGlass } from './break-glass';
import { ConsoleApprovals } from './console-approvals';
import { Host } from './host';
import { FleetTransport, type FleetTransportOptions } from './fleet-transport';
import { joinTokenSource, metricsToken, tokenOnCommandLine } from './host-token';
import { createHostHttpServer } from './http-server';
import { inprocRefusalFor } from './inproc-guard';
import { sandboxStatus } from './sandbox';
import { mkdirPrivate } from '../secrets-at-rest';
import { accessLogSettings } from '../config';
import { runWorker } from './workers/worker';
import { WorkerPool } from './workers/primary';
import { WORKER_HOST_ID_ENV, WORKER_SLOT_ENV } from './workers/ipc';
import { availableParallelism } from 'node:os';
import { parseDesiredState, type DesiredState } from '../protocol';

// `hotplane host --console https://CONSOLE:7443[,https://OTHER:7443…] --console-ca FILE --join-token-file FILE --data DIR
// --port P` (or the join token in HOTPLANE_JOIN_TOKEN): one runtime host, standalone or started by the console
// (server/fleet/embedded-host.ts) with the same flags. The join token is read only to enrol (docs/fleet.md#host-identity).
// With several consoles (repeat the flag or separate by commas) the agent fails over between them.
const HOST_OPTIONS = {
  'control-plane': { type: 'string', multiple: true },
  console: { type: 'string', multiple: true },
  'console-ca': { type: 'string' },
  'join-token-file': { type: 'string' },
  data: { type: 'string', default: 'data/host' },
  port: { type: 'string', default: '7400' },
  bind: { type: 'string', default: '127.0.0.1' },
  // Without a console; with one, the id its certificate names.
  'host-id': { type: 'string', default: 'host' },
  'desired-state': { type: 'string' },
  artifacts: { type: 'string' },
  'crash-marker': { type: 'string' },
  // Default: <data>/access.log, size-rotated (HOTPLANE_ACCESS_LOG_* in server/config.ts); also stdout, stderr, off.
  'access-log': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'cell-memory-mib': { type: 'string' },
  'cell-open-files': { type: 'string' },
  'console-secret': { type: 'string', multiple: true },
  'metrics-token-file': { type: 'string' },
  // Processes sharing the port (node:cluster); 1 is one process, as the embedded host runs. Default: one per core.
  workers: { type: 'string' },
} as const;

function workerCount(flag: string | undefined): number {
  if (flag === undefined) return availableParallelism();
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers ${flag}: give a whole number of worker processes from 1 to 256 (default: the number of cores, ${availableParallelism()})`);
  return n;
}

// The admin token guards pinning and the admin endpoints; it is created once and kept beside the host's data.
async function adminToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'admin-token');
  const existing = await readFile(file, 'utf8').catch(() => null);
  if (existing) return existing.trim();
  const token = randomBytes(24).toString('base64url');
  await writeFile(file, token, { mode: 0o600 });
  return token;
}

// Enrolment and renewal go to the first console that answers; the certificate is then good with every one of them.
async function openTransport(consoles: string[], options: Omit<FleetTransportOptions, 'consoleUrl'>): Promise<FleetTransport> {
  let lastError: unknown;
  for (const consoleUrl of consoles) {
    try {
      return await FleetTransport.open({ ...options, consoleUrl });
    } catch (error) {
      lastError = error;
      options.log?.(`enrolling with ${consoleUrl}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw lastError;
}

// Standalone (benches, tests, an isolated machine): the desired state from a local file, checked against the
// protocol's schema as a console's would be, and the artifacts from a folder of <sm3>.so files; the host still
// verifies every artifact's SM3 before loading it.
async function readStandaloneState(file: string): Promise<DesiredState> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new Error(`--desired-state ${file}: ${error.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`--desired-state ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = parseDesiredState(json);
  if (!parsed.ok) throw new Error(`--desired-state ${file}: ${parsed.problem}`);
  return parsed.state;
}

async function standaloneArtifact(dir: string, sm3: string) {
  if (!/^[0-9a-f]{64}$/.test(sm3)) throw new Error(`"${sm3}" is not an SM3 digest`);
  return createReadStream(path.join(dir, `${sm3}.so`));
}

export async function runHost(args: string[]): Promise<void> {
  const onCommandLine = tokenOnCommandLine(args);
  if (onCommandLine) throw new Error(onCommandLine);
  const { values } = parseArgs({ args, options: HOST_OPTIONS, strict: true });
  const workers = workerCount(values.workers);
  if (workers > 1 && cluster.isWorker) return runWorkerOf(values);
  const joinToken = joinTokenSource(values['join-token-file']);
  const consoles = [...(values.console ?? []), ...(values['control-plane'] ?? [])].flatMap((list) => list.split(',')).map((url) => url.trim()).filter(Boolean);
  const log = (line: string) => console.error(`hotplane host: ${line}`);
  const dataDir = path.resolve(values.data);
  mkdirPrivate(dataDir);
  // Its admin token and artifact cache are its own: an older folder left open to others is narrowed.
  await chmod(dataDir, 0o700);
  const inprocRefusal = inprocRefusalFor(values['console-secret'] ?? []);
  if (inprocRefusal) log(inprocRefusal);
  const sandbox = sandboxStatus();
  log(sandbox.sandboxed ? `process cells sandboxed: ${sandbox.detail}` : `WARNING: ${sandbox.detail}`);

  if (values['desired-state'] && consoles.length > 0) throw new Error('--desired-state runs the host without a console: give it or --console, not both');
  const plainText = consoles.find((url) => new URL(url).protocol !== 'https:');
  if (plainText) throw new Error(`--console ${plainText}: the fleet API is served over TLS only; give its https:// URL (port 7443 by default)`);
  const transport = consoles.length > 0 ? await openTransport(consoles, { dataDir, consoleCaFile: values['console-ca'], joinToken, log }) : null;
  if (workers > 1) return runPrimary(values, workers, { consoles, dataDir, transport, log });
  let agent: ControlPlaneAgent | null = null;
  const host = new Host({
    hostId: transport?.hostId ?? values['host-id'],
    dataDir,
    crashMarkerFile: values['crash-marker'],
    cellLimits: resolveCellLimits({ memoryMiB: values['cell-memory-mib'], openFiles: values['cell-open-files'] }),
    inprocRefusal,
    fetchArtifact: (sm3) => {
      if (agent) return agent.fetchArtifact(sm3);
      if (values.artifacts) return standaloneArtifact(values.artifacts, sm3);
      throw new Error(`artifact ${sm3} is not cached and there is no console to fetch it from`);
    },
    onEvent: (event) => log(`${event.module}${event.version ? ` ${event.version}` : ''} ${event.kind}: ${event.message}`),
  }).start();
  const approvals = transport ? await new ConsoleApprovals(path.join(dataDir, 'console-approved.json')).load() : undefined;
  const breakGlass = transport ? await new LocalBreakGlass(dataDir, host, approvals).load() : undefined;
  if (transport) {
    agent = new ControlPlaneAgent(host, { controlPlane: consoles, fetch: transport.fetch, dataDir, log, approvals, breakGlass });
  }

  const accessLogTo = values['access-log'] ?? path.join(dataDir, 'access.log');
  const accessLog = createAccessLog({ destination: accessLogTo === 'off' ? null : accessLogTo, ...accessLogSettings() });
  const server = createHostHttpServer({
    host,
    adminToken: await adminToken(dataDir),
    approvals,
    breakGlass,
    accessLog,
    metricsToken: await metricsToken(values['metrics-token-file']),
    maxBodyBytes: values['max-body-bytes'] ? Number(values['max-body-bytes']) : undefined,
  });
  // The console's word first (it may have isolated a version that crashed this host); the disk copy only when
  // the console cannot be reached. The invoke API opens after that, its modules loaded: a caller meanwhile is
  // refused a connection (retry-safe) instead of being told 404 "unknown module" for one about to exist.
  if (values['desired-state']) await host.applyDesiredState(await readStandaloneState(values['desired-state']));
  if (agent) {
    const fresh = await agent.syncOnce().then(() => true, () => false);
    if (!fresh) {
      await agent.restorePersistedState().catch((error) => log(`persisted desired state unusable: ${(error as Error).message}`));
      if (await breakGlass?.restore()) log('serving the break-glass made here; the console is told when it answers');
    }
  }
  await new Promise<void>((resolve) => server.listen(Number(values.port), values.bind, resolve));
  log(`invoke API on http://${values.bind}:${values.port}/v1/invoke/<module>`);
  agent?.start();
  transport?.startRenewal();

  async function shutdown(signal: string) {
    log(`${signal}: draining and stopping`);
    agent?.stop();
    transport?.stop();
    server.close();
    await host.stop({ drain: true });
    await accessLog.flush();
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

type HostValues = ReturnType<typeof parseArgs<{ options: typeof HOST_OPTIONS; strict: true }>>['values'];

function runWorkerOf(values: HostValues): Promise<void> {
  const dataDir = path.resolve(values.data);
  return (async () =>
    runWorker({
      slot: Number(process.env[WORKER_SLOT_ENV]),
      hostId: process.env[WORKER_HOST_ID_ENV] ?? values['host-id'],
      dataDir,
      port: Number(values.port),
      bind: values.bind,
      crashMarkerBase: values['crash-marker'] ?? path.join(dataDir, 'inproc-call'),
      cellLimits: resolveCellLimits({ memoryMiB: values['cell-memory-mib'], openFiles: values['cell-open-files'] }),
      inprocRefusal: inprocRefusalFor(values['console-secret'] ?? []),
      accessLog: values['access-log'] ?? path.join(dataDir, 'access.log'),
      adminToken: await adminToken(dataDir),
      metricsToken: await metricsToken(values['metrics-token-file']),
      maxBodyBytes: values['max-body-bytes'] ? Number(values['max-body-bytes']) : undefined,
      withConsole: (values.console ?? values['control-plane'] ?? []).length > 0,
    }))();
}

// With workers the primary is the host the console knows: one agent, one artifact cache, one report; the workers
// serve the port (server/host/workers/). SIGTERM drains every worker and waits for them before exiting.
async function runPrimary(values: HostValues, workers: number, context: { consoles: string[]; dataDir: string; transport: FleetTransport | null; log: (line: string) => void }) {
  const { consoles, dataDir, transport, log } = context;
  // What every worker reads is checked here first: a bad setting stops the host, not each worker in a restart loop.
  await adminToken(dataDir);
  await metricsToken(values['metrics-token-file']);
  resolveCellLimits({ memoryMiB: values['cell-memory-mib'], openFiles: values['cell-open-files'] });
  accessLogSettings();
  const standalone = values['desired-state'] ? await readStandaloneState(values['desired-state']) : null;
  let agent: ControlPlaneAgent | null = null;
  let breakGlass: LocalBreakGlass | undefined;
  const pool = await new WorkerPool({
    workers,
    hostId: transport?.hostId ?? values['host-id'],
    dataDir,
    crashMarkerBase: values['crash-marker'] ?? path.join(dataDir, 'inproc-call'),
    fetchArtifact: (sm3) => {
      if (agent) return agent.fetchArtifact(sm3);
      if (values.artifacts) return standaloneArtifact(values.artifacts, sm3);
      throw new Error(`artifact ${sm3} is not cached and there is no console to fetch it from`);
    },
    log,
    // Asked only once workers serve, after the break-glass below exists.
    breakGlass: (): LocalBreakGlass | undefined => breakGlass,
  }).start();
  // The workers are forked: a host that cannot finish starting takes them with it, rather than leave each to notice.
  try {
    const approvals = transport ? await new ConsoleApprovals(path.join(dataDir, 'console-approved.json')).load() : undefined;
    breakGlass = transport ? await new LocalBreakGlass(dataDir, pool, approvals).load() : undefined;
    if (transport) agent = new ControlPlaneAgent(pool, { controlPlane: consoles, fetch: transport.fetch, dataDir, log, approvals, breakGlass });
    if (standalone) await pool.applyDesiredState(standalone);
    if (agent) {
      const fresh = await agent.syncOnce().then(() => true, () => false);
      if (!fresh) {
        await agent.restorePersistedState().catch((error) => log(`persisted desired state unusable: ${(error as Error).message}`));
        if (await breakGlass?.restore()) log('serving the break-glass made here; the console is told when it answers');
      }
    }
    await pool.listen();
  } catch (error) {
    pool.kill();
    throw error;
  }
  log(`invoke API on http://${values.bind}:${values.port}/v1/invoke/<module> (${workers} workers: ${pool.workerPids().join(', ')})`);
  agent?.start();
  transport?.startRenewal();

  let stopping = false;
  async function shutdown(signal: string) {
    if (stopping) {
      log(`${signal} again: stopping at once`);
      pool.kill();
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: draining every worker and stopping`);
    agent?.stop();
    transport?.stop();
    await pool.stop(pool.drainDeadlineMs());
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runHost(process.argv.slice(2));
