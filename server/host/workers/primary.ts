import cluster, { type Worker } from 'node:cluster';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactCache, ArtifactIntegrityError, type ArtifactFetcher } from '../artifact-cache';
import { BreakGlassRefused, type LocalBreakGlass } from '../break-glass';
import { readCrashMarker } from '../crash-marker';
import { processFigures } from '../metrics';
import { DEFAULT_DRAIN_DEADLINE_MS } from '../module-runtime';
import type { DesiredState, HostEvent, HostReport, VersionStatus } from '../../protocol';
import type { AgentHost } from '../agent';
import { MetricsAggregate, mergeSampleList, mergeStatuses } from './aggregate';
import { crashMarkerOfSlot, isToPrimary, WORKER_HOST_ID_ENV, WORKER_SLOT_ENV, type Ask, type ToPrimary, type ToWorker } from './ipc';
import type { GriddedSample } from '../metrics';

// The primary of `hotplane host --workers N`: the one the console knows. It forks the workers (node:cluster shares
// the port between them), hands every desired state to all of them, fetches and verifies each artifact once, sums
// their metrics into one view and one report, and restarts a worker that dies — deciding once, for the host, which
// inproc version killed it and moving that version to a process cell on every worker.

const MAX_EVENTS_KEPT = 500;
const MAX_PENDING_SAMPLES = 20_000;
/** The same event of the same version from several workers within this long is one event for the host. */
const EVENT_DEDUPE_MS = 2_000;
/**
 * A closed second is reported once every live worker has sent a snapshot taken after it ended (the console keeps
 * one sample per host, version and second: a second split over two reports would lose a part), or once it is this
 * old, so a stalled worker delays the report's samples by no more than that.
 */
const SAMPLE_SETTLE_MAX_MS = 3_000;
/** A worker that dies sooner than this after starting is in a crash loop: its restarts back off. */
const STABLE_AFTER_MS = 10_000;
const RESTART_BACKOFF_MS = [0, 250, 500, 1_000, 2_000, 5_000];
/** How long SIGTERM waits for workers to drain before killing them: the longest drain deadline, and a margin. */
const STOP_MARGIN_MS = 5_000;

export interface WorkerPoolOptions {
  workers: number;
  hostId: string;
  dataDir: string;
  crashMarkerBase: string;
  fetchArtifact: ArtifactFetcher;
  log: (line: string) => void;
  /** The host's break-glass (it needs the pool to apply through, so it comes after): a worker's POST /v1/break-glass lands here. */
  breakGlass?: () => Pick<LocalBreakGlass, 'rollback'> | undefined;
}

interface Slot {
  slot: number;
  worker: Worker;
  pid: number;
  startedAt: number;
  started: boolean;
  failures: number;
  statuses: VersionStatus[];
  awaitingArtifacts: boolean;
  /** When the worker took its latest snapshot (its clock: the same machine's). */
  snapshotAt: number;
}

export class WorkerPool implements AgentHost {
  readonly startedAt = new Date().toISOString();
  private readonly slots = new Map<number, Slot>();
  private readonly aggregate = new MetricsAggregate();
  private readonly cache: ArtifactCache;
  private readonly fetching = new Map<string, Promise<string>>();
  private readonly verified = new Map<string, { identity: string; result: Promise<{ path: string; sha256: string; ms: number }> }>();
  private readonly quarantineFile: string;
  private quarantined = new Set<string>();
  private current: { state: DesiredState; local: boolean } | null = null;
  private appliedGeneration = -1;
  private overriddenLocally = false;
  private applying: Promise<void> = Promise.resolve();
  private nextApplyId = 1;
  private readonly applyWaiters = new Map<number, (ack: Extract<ToPrimary, { kind: 'applied' }>) => void>();
  private listening = false;
  private stopping = false;
  private readonly events: HostEvent[] = [];
  private pendingEvents: HostEvent[] = [];
  private readonly lastEventAt = new Map<string, number>();
  private pendingSamples: GriddedSample[] = [];

  constructor(private readonly options: WorkerPoolOptions) {
    this.cache = new ArtifactCache(path.join(options.dataDir, 'artifacts'));
    this.quarantineFile = path.join(options.dataDir, 'inproc-quarantine.json');
  }

  get hostId(): string {
    return this.options.hostId;
  }

  get generation(): number {
    return this.appliedGeneration;
  }

  get locallyOverridden(): boolean {
    return this.overriddenLocally;
  }

  // On disk before the event goes out and before a restart could read it; whole or not at all (temp file, rename).
  private saveQuarantine(): void {
    const temp = `${this.quarantineFile}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, JSON.stringify([...this.quarantined]), { mode: 0o600 });
      renameSync(temp, this.quarantineFile);
    } catch (error) {
      this.options.log(`cannot save ${this.quarantineFile} (${(error as Error).message}): the quarantine holds until this host restarts`);
    }
  }

  /** Forks the workers and waits until each has its Host running (not yet listening). */
  async start(): Promise<this> {
    const saved = await readFile(this.quarantineFile, 'utf8').catch(() => null);
    if (saved) this.quarantined = new Set(JSON.parse(saved) as string[]);
    cluster.on('message', (worker, message: unknown) => {
      const slot = [...this.slots.values()].find((s) => s.worker === worker);
      if (slot && isToPrimary(message)) this.onMessage(slot, message);
    });
    cluster.on('exit', (worker, code, signal) => {
      const slot = [...this.slots.values()].find((s) => s.worker === worker);
      if (slot) this.onExit(slot, code, signal);
    });
    const starting = Array.from({ length: this.options.workers }, (_, i) => this.fork(i + 1));
    await Promise.all(starting);
    return this;
  }

  private fork(slotNumber: number, failures = 0): Promise<void> {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slotNumber), [WORKER_HOST_ID_ENV]: this.options.hostId });
    const slot: Slot = { slot: slotNumber, worker, pid: worker.process.pid ?? 0, startedAt: Date.now(), started: false, failures, statuses: [], awaitingArtifacts: false, snapshotAt: 0 };
    this.slots.set(slotNumber, slot);
    return new Promise((resolve) => worker.once('online', () => resolve()));
  }

  /** The pids of the live workers. */
  workerPids(): number[] {
    return [...this.slots.values()].map((s) => s.pid);
  }

  private send(slot: Slot, message: ToWorker) {
    if (slot.worker.isConnected()) slot.worker.send(message);
  }

  private onMessage(slot: Slot, message: ToPrimary) {
    switch (message.kind) {
      case 'started':
        return void this.admit(slot);
      case 'listening':
        return;
      case 'listen-failed':
        // The port is the primary's (node:cluster binds it there): no worker can serve, as a single process could not.
        this.options.log(`cannot listen: ${message.error}`);
        this.kill();
        return process.exit(1);
      case 'applied':
        slot.awaitingArtifacts = message.awaitingArtifacts;
        this.applyWaiters.get(message.id)?.(message);
        return;
      case 'snapshot':
        slot.statuses = message.snapshot.statuses;
        slot.snapshotAt = message.snapshot.takenAt;
        slot.awaitingArtifacts = message.snapshot.awaitingArtifacts;
        this.aggregate.update(slot.pid, message.snapshot);
        this.pendingSamples.push(...message.snapshot.samples);
        // Without a console nothing drains them: the last MAX_PENDING_SAMPLES are kept, as an agent keeps its unsent ones.
        if (this.pendingSamples.length > MAX_PENDING_SAMPLES) this.pendingSamples.splice(0, this.pendingSamples.length - MAX_PENDING_SAMPLES);
        return;
      case 'event':
        slot.statuses = message.statuses;
        return this.emit(message.event);
      case 'ask':
        return void this.answer(slot, message);
    }
  }

  // A worker that has started gets the state every worker runs, then opens the port once it is loaded.
  private async admit(slot: Slot) {
    slot.started = true;
    if (this.current) await this.applyTo(slot, this.effective(this.current.state), this.current.local);
    if (this.listening) this.send(slot, { kind: 'listen' });
  }

  private async answer(slot: Slot, ask: Ask) {
    try {
      const value = await this.resolveAsk(ask);
      this.send(slot, { kind: 'reply', id: ask.id, ok: true, value });
    } catch (error) {
      this.send(slot, {
        kind: 'reply',
        id: ask.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        integrity: error instanceof ArtifactIntegrityError,
        breakGlassRefused: error instanceof BreakGlassRefused,
      });
    }
  }

  private resolveAsk(ask: Ask): Promise<unknown> {
    switch (ask.what) {
      case 'fetch':
        return this.fetchOnce(ask.sm3);
      case 'verify':
        return this.verifyOnce(ask.sm3);
      case 'metrics':
        return Promise.resolve(this.prometheus());
      case 'apply-local':
        return this.applyDesiredState(ask.state, { local: true });
      case 'break-glass': {
        const breakGlass = this.options.breakGlass?.();
        if (!breakGlass) return Promise.reject(new BreakGlassRefused('this host takes no break-glass: without a console it has no stable to go back to; POST /v1/desired-state instead'));
        return breakGlass.rollback(ask.module, ask.reason);
      }
    }
  }

  // N workers loading the same version ask at the same moment: one download.
  private fetchOnce(sm3: string): Promise<string> {
    let running = this.fetching.get(sm3);
    if (!running) {
      running = this.cache.fetch(sm3, this.options.fetchArtifact).finally(() => this.fetching.delete(sm3));
      this.fetching.set(sm3, running);
    }
    return running;
  }

  // Verified once per file: a cached copy replaced or changed since (another inode, size or mtime) is hashed again.
  private async verifyOnce(sm3: string) {
    const file = this.cache.pathOf(sm3);
    const facts = await stat(file).catch(() => null);
    const identity = facts ? `${facts.ino}:${facts.size}:${facts.mtimeMs}` : 'missing';
    const known = this.verified.get(sm3);
    if (known && known.identity === identity) return known.result;
    const result = this.cache.verify(sm3);
    this.verified.set(sm3, { identity, result });
    result.catch(() => this.verified.delete(sm3));
    return result;
  }

  /** The host's /metrics: every worker summed (from their snapshots, at most about a second old) with the primary. */
  prometheus(): string {
    return this.aggregate.prometheus(processFigures(null));
  }

  // Inproc versions that killed a worker run in a process cell on this host from then on.
  private effective(state: DesiredState): DesiredState {
    if (this.quarantined.size === 0) return state;
    return {
      ...state,
      modules: state.modules.map((m) => ({
        ...m,
        versions: m.versions.map((v) => (v.isolation === 'inproc' && this.quarantined.has(`${m.module}@${v.version}`) ? { ...v, isolation: 'process' as const } : v)),
      })),
    };
  }

  private applyTo(slot: Slot, state: DesiredState, local: boolean): Promise<Extract<ToPrimary, { kind: 'applied' }>> {
    const id = this.nextApplyId++;
    return new Promise((resolve) => {
      const done = (ack: Extract<ToPrimary, { kind: 'applied' }>) => {
        this.applyWaiters.delete(id);
        slot.worker.off('exit', gone);
        resolve(ack);
      };
      // A worker that dies mid-apply is restarted and gets the state then: it does not fail the apply.
      const gone = () => done({ kind: 'applied', id, ok: true, generation: state.generation, awaitingArtifacts: false });
      this.applyWaiters.set(id, done);
      slot.worker.once('exit', gone);
      this.send(slot, { kind: 'apply', id, state, local });
    });
  }

  /** Every worker applies the state; serialised like Host.applyDesiredState. */
  applyDesiredState(state: DesiredState, options: { local?: boolean } = {}): Promise<void> {
    const local = options.local ?? false;
    const run = this.applying.then(() => this.broadcast(state, local));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async broadcast(state: DesiredState, local: boolean) {
    this.current = { state, local };
    const live = [...this.slots.values()].filter((s) => s.started);
    const acks = await Promise.all(live.map((slot) => this.applyTo(slot, this.effective(state), local)));
    const failed = acks.find((ack) => !ack.ok);
    if (failed) throw new Error(failed.error);
    this.appliedGeneration = state.generation;
    this.overriddenLocally = local;
  }

  awaitingArtifacts(): boolean {
    return [...this.slots.values()].some((s) => s.awaitingArtifacts);
  }

  /** Opens the port on every worker (after the first state is loaded) and waits until each listens. */
  async listen(): Promise<void> {
    this.listening = true;
    await Promise.all(
      [...this.slots.values()].map(
        (slot) =>
          new Promise<void>((resolve) => {
            // A worker that dies first does not hold the port closed: its replacement listens when admitted.
            const heard = (message: unknown) => {
              if (isToPrimary(message) && message.kind === 'listening') resolve();
            };
            slot.worker.on('message', heard);
            slot.worker.once('exit', () => resolve());
            if (slot.started) this.send(slot, { kind: 'listen' });
          }),
      ),
    );
  }

  private emit(event: HostEvent) {
    const key = `${event.module}\u0000${event.version ?? ''}\u0000${event.kind}`;
    const now = Date.now();
    if (event.kind !== 'weights' && now - (this.lastEventAt.get(key) ?? -Infinity) < EVENT_DEDUPE_MS) return;
    if (event.kind === 'weights' && this.events.at(-1)?.message === event.message && this.events.at(-1)?.module === event.module) return;
    this.lastEventAt.set(key, now);
    this.events.push(event);
    if (this.events.length > MAX_EVENTS_KEPT) this.events.shift();
    this.pendingEvents.push(event);
    if (this.pendingEvents.length > MAX_EVENTS_KEPT) this.pendingEvents.shift();
    this.options.log(`${event.module}${event.version ? ` ${event.version}` : ''} ${event.kind}: ${event.message}`);
  }

  reportDue(lastReportAt: number, everyMs: number, now = Date.now()): boolean {
    if (now - lastReportAt >= everyMs) return true;
    return this.pendingEvents.some((e) => e.kind === 'crashed' || e.kind === 'load-failed' || e.kind === 'unhealthy');
  }

  report(): HostReport {
    const live = [...this.slots.values()].filter((s) => s.started);
    const everyWorkerPast = Math.min(...live.map((s) => s.snapshotAt));
    const now = Date.now();
    const settled = (s: GriddedSample) => {
      const end = Date.parse(s.sample.second) + 1_000;
      // Workers snapshot 100 ms into each second, after their metrics closed the one before.
      return end + 50 <= everyWorkerPast || end + SAMPLE_SETTLE_MAX_MS <= now;
    };
    const ready = this.pendingSamples.filter(settled);
    this.pendingSamples = this.pendingSamples.filter((s) => !settled(s));
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return {
      hostId: this.hostId,
      appliedGeneration: this.appliedGeneration,
      startedAt: this.startedAt,
      versions: mergeStatuses([...this.slots.values()].map((s) => s.statuses)),
      metrics: mergeSampleList(ready),
      events,
    };
  }

  recentEvents(): HostEvent[] {
    return [...this.events];
  }

  private onExit(slot: Slot, code: number | null, signal: string | null) {
    this.aggregate.retire(slot.pid);
    this.slots.delete(slot.slot);
    if (this.stopping) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    // A worker that cannot even start at the host's start would only crash-loop: the host fails, as one process would.
    if (!slot.started && !this.listening) {
      this.options.log(`worker ${slot.slot} (pid ${slot.pid}) could not start (${how}); stopping the host`);
      this.kill();
      process.exit(1);
    }
    const marker = readCrashMarker(readMarker(crashMarkerOfSlot(this.options.crashMarkerBase, slot.slot)));
    if (marker) {
      this.quarantined.add(`${marker.module}@${marker.version}`);
      this.saveQuarantine();
      this.emit({
        time: new Date().toISOString(),
        module: marker.module,
        version: marker.version,
        kind: 'crashed',
        message: `worker ${slot.pid} died (${how}) in an inproc call of ${marker.module} ${marker.version}: it now runs in a process cell on every worker of this host`,
      });
      const current = this.current;
      if (current) void this.applyDesiredState(current.state, { local: true }).then(() => (this.overriddenLocally = current.local), () => undefined);
    }
    this.options.log(`worker ${slot.slot} (pid ${slot.pid}) died (${how}${marker ? ` in ${marker.module} ${marker.version}` : ''}); restarting it`);
    const failures = Date.now() - slot.startedAt < STABLE_AFTER_MS ? slot.failures + 1 : 0;
    const delay = RESTART_BACKOFF_MS[Math.min(failures, RESTART_BACKOFF_MS.length - 1)];
    // Not unref'd: with every worker dead this timer is all that keeps the primary running.
    setTimeout(() => {
      if (!this.stopping) void this.fork(slot.slot, failures);
    }, delay);
  }

  /** The longest drain deadline of the state the workers run. */
  drainDeadlineMs(): number {
    return Math.max(DEFAULT_DRAIN_DEADLINE_MS, ...(this.current?.state.modules.map((m) => m.drainDeadlineMs ?? DEFAULT_DRAIN_DEADLINE_MS) ?? []));
  }

  /** SIGTERM: every worker drains and stops; those still running after the drain deadline are killed. */
  async stop(drainDeadlineMs: number): Promise<void> {
    this.stopping = true;
    const live = [...this.slots.values()];
    const exited = live.map((slot) => new Promise<void>((resolve) => (slot.worker.isDead() ? resolve() : slot.worker.once('exit', () => resolve()))));
    for (const slot of live) this.send(slot, { kind: 'shutdown' });
    const deadline = setTimeout(() => this.kill(), drainDeadlineMs + STOP_MARGIN_MS);
    await Promise.all(exited);
    clearTimeout(deadline);
  }

  /** A second signal: stop at once. */
  kill() {
    this.stopping = true;
    for (const slot of this.slots.values()) slot.worker.process.kill('SIGKILL');
  }
}

function readMarker(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
