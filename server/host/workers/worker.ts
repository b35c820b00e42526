import path from 'node:path';
import { createAccessLog } from '../access-log';
import { ArtifactCache, ArtifactIntegrityError, type ArtifactFetcher } from '../artifact-cache';
import { BreakGlassRefused } from '../break-glass';
import type { CellLimits } from '../cell-limits';
import { ConsoleApprovals } from '../console-approvals';
import { Host, type HostOptions } from '../host';
import { createHostHttpServer } from '../http-server';
import { processFigures } from '../metrics';
import type { DesiredState, HostBreakGlass } from '../../protocol';
import { crashMarkerOfSlot, type Ask, type Question, type ToPrimary, type ToWorker, type WorkerSnapshot } from './ipc';
import { accessLogSettings } from '../../config';

// A worker of `hotplane host --workers N`: its own Host (modules loaded in it, process cells of its own) behind the
// port node:cluster shares. It never talks to the console: desired states arrive from the primary, artifacts are
// fetched and verified by the primary (once for the host), and GET /metrics answers the primary's sum of all workers.

const SNAPSHOT_MS = 1_000;
/** After the second boundary, so the second the worker's metrics just closed is in the snapshot. */
const SNAPSHOT_PHASE_MS = 100;

export interface WorkerSettings {
  slot: number;
  hostId: string;
  dataDir: string;
  port: number;
  bind: string;
  crashMarkerBase: string;
  cellLimits: CellLimits;
  inprocRefusal: string | null;
  accessLog: string;
  adminToken: string;
  metricsToken: string | null;
  maxBodyBytes?: number;
  /** The host has a console: a locally posted state may only use versions it approved (console-approvals.ts). */
  withConsole: boolean;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

class PrimaryLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  send(message: ToPrimary) {
    process.send?.(message);
  }

  ask(question: Question): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ ...question, id } as Ask);
    });
  }

  settle(reply: Extract<ToWorker, { kind: 'reply' }>) {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else if (reply.breakGlassRefused) waiting.reject(new BreakGlassRefused(reply.error));
    else waiting.reject(reply.integrity ? new ArtifactIntegrityError(reply.error) : new Error(reply.error));
  }
}

// The primary downloads and verifies each artifact once for all workers; a worker only reads the verified file.
class CacheOfPrimary extends ArtifactCache {
  constructor(dir: string, private readonly primary: PrimaryLink) {
    super(dir);
  }

  override async fetch(sm3: string): Promise<string> {
    return (await this.primary.ask({ kind: 'ask', what: 'fetch', sm3 })) as string;
  }

  override async verify(sm3: string): Promise<{ path: string; sha256: string; ms: number }> {
    return (await this.primary.ask({ kind: 'ask', what: 'verify', sm3 })) as { path: string; sha256: string; ms: number };
  }
}

// A state posted to this worker's local admin goes to the primary, which hands it to every worker.
class WorkerHost extends Host {
  constructor(options: HostOptions, private readonly primary: PrimaryLink) {
    super(options);
  }

  override applyDesiredState(state: DesiredState, options: { local?: boolean } = {}): Promise<void> {
    if (!options.local) return super.applyDesiredState(state, options);
    return this.primary.ask({ kind: 'ask', what: 'apply-local', state }).then(() => undefined);
  }

  applyHere(state: DesiredState, local: boolean): Promise<void> {
    return super.applyDesiredState(state, { local });
  }
}

const neverFromConsole: ArtifactFetcher = () => Promise.reject(new Error('a worker never fetches artifacts itself'));

export async function runWorker(settings: WorkerSettings): Promise<void> {
  const primary = new PrimaryLink();
  const log = (line: string) => console.error(`hotplane host worker ${settings.slot}: ${line}`);
  const host: WorkerHost = new WorkerHost(
    {
      hostId: settings.hostId,
      dataDir: settings.dataDir,
      crashMarkerFile: crashMarkerOfSlot(settings.crashMarkerBase, settings.slot),
      cellLimits: settings.cellLimits,
      inprocRefusal: settings.inprocRefusal,
      cache: new CacheOfPrimary(path.join(settings.dataDir, 'artifacts'), primary),
      fetchArtifact: neverFromConsole,
      latencyGrid: true,
      // The primary logs each event once for the host and reports it; the statuses go along for a prompt report.
      onEvent: (event) => primary.send({ kind: 'event', event, statuses: host.versionStatuses() }),
    },
    primary,
  ).start();
  const approvals = settings.withConsole ? new ConsoleApprovals(path.join(settings.dataDir, 'console-approved.json')) : undefined;
  await approvals?.load();
  // A file per worker: two processes rotating one file would race. stdout and stderr are shared as they are.
  const shared = settings.accessLog === 'stdout' || settings.accessLog === 'stderr';
  const destination = settings.accessLog === 'off' ? null : shared ? settings.accessLog : `${settings.accessLog}.worker-${settings.slot}`;
  const accessLog = createAccessLog({ destination, ...accessLogSettings() });
  const server = createHostHttpServer({
    host,
    adminToken: settings.adminToken,
    approvals,
    accessLog,
    metricsToken: settings.metricsToken,
    maxBodyBytes: settings.maxBodyBytes,
    metricsText: () => primary.ask({ kind: 'ask', what: 'metrics' }) as Promise<string>,
    // The primary keeps the host's stables and tells the console; every worker then runs what it applies.
    breakGlass: settings.withConsole ? { rollback: (module, reason) => primary.ask({ kind: 'ask', what: 'break-glass', module, reason }) as Promise<HostBreakGlass> } : undefined,
  });

  const snapshot = (): WorkerSnapshot => {
    const samples = host.metrics.drainGriddedSamples();
    // report() also drops the events kept for a report: the primary has had each one as it happened.
    const { versions: statuses } = host.report();
    return {
      versions: host.metrics.versionSnapshots(),
      samples,
      statuses,
      process: processFigures(host.metrics.eventLoop),
      generation: host.generation,
      awaitingArtifacts: host.awaitingArtifacts(),
      takenAt: Date.now(),
    };
  };
  const schedule = () => {
    setTimeout(() => {
      primary.send({ kind: 'snapshot', snapshot: snapshot() });
      schedule();
    }, SNAPSHOT_MS - (Date.now() % SNAPSHOT_MS) + SNAPSHOT_PHASE_MS).unref();
  };
  schedule();

  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    (stopping ??= (async () => {
      server.close();
      await host.stop({ drain: true });
      await accessLog.flush();
      process.exit(0);
    })());
  // The primary forwards SIGTERM as a message; a signal sent to the whole group (Ctrl-C) drains the same way.
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());

  process.on('message', (message: ToWorker) => {
    switch (message.kind) {
      case 'reply':
        return primary.settle(message);
      case 'apply':
        return void (async () => {
          if (!message.local) await approvals?.load();
          const result = await host.applyHere(message.state, message.local).then(() => null, (error: unknown) => (error instanceof Error ? error.message : String(error)));
          primary.send({ kind: 'applied', id: message.id, ok: result === null, error: result ?? undefined, generation: host.generation, awaitingArtifacts: host.awaitingArtifacts() });
        })();
      case 'listen':
        server.once('error', (error) => {
          primary.send({ kind: 'listen-failed', error: error.message });
          process.exitCode = 1;
        });
        return void server.listen(settings.port, settings.bind, () => primary.send({ kind: 'listening' }));
      case 'shutdown':
        return void shutdown();
    }
  });
  log(`started (pid ${process.pid})`);
  primary.send({ kind: 'started' });
}
