import path from 'node:path';
import { ArtifactCache, ArtifactIntegrityError, type ArtifactFetcher } from './artifact-cache';
import { DEFAULT_CELL_LIMITS, type CellLimits } from './cell-limits';
import { CrashMarker } from './crash-marker';
import { HostMetrics } from './metrics';
import { ModuleRuntime, type InvokeOptions, type InvokeResult } from './module-runtime';
import type { DesiredModule, DesiredState, HostEvent, HostReport, VersionStatus } from '../protocol';
import type { VersionRuntime } from './version-runtime';
import type { HangWatchdogSettings } from './hang-watchdog';

const HEALTH_PROBE_MS = 1_000;
const SELF_TEST_PROBE_MS = 60_000;
const MAX_EVENTS_KEPT = 500;
/** An artifact that could not be fetched is asked for again no sooner than this, while its version stays failed. */
const FETCH_RETRY_MS = 5_000;

export interface HostOptions {
  hostId?: string;
  /** Where the host keeps its artifact cache (and, for a standalone host, its last desired state). */
  dataDir: string;
  /** How to get an artifact this host has not cached yet (from the console, or from local files). */
  fetchArtifact?: ArtifactFetcher;
  /** File naming the inproc call in progress, for a supervisor to read after a crash (see crash-marker.ts). */
  crashMarkerFile?: string;
  /** How soon an artifact that could not be fetched is asked for again (default FETCH_RETRY_MS). */
  fetchRetryMs?: number;
  /** Caps on each process cell (default DEFAULT_CELL_LIMITS). */
  cellLimits?: CellLimits;
  /** Set when this host may not load modules in-process (inproc-guard.ts): every inproc version fails with it. */
  inprocRefusal?: string | null;
  onEvent?: (event: HostEvent) => void;
  /** The hang watchdog of process cells (default DEFAULT_HANG_SETTINGS); null turns it off. */
  hangWatchdog?: HangWatchdogSettings | null;
  /** Where artifacts are fetched and verified (default an ArtifactCache in `<dataDir>/artifacts`); a worker's asks its primary. */
  cache?: ArtifactCache;
  /** Keep each metric sample's latency grid, for a primary merging its workers' histograms (workers/aggregate.ts). */
  latencyGrid?: boolean;
}

const UNKNOWN_MODULE: InvokeResult = { status: 503, version: null, code: null, body: Buffer.alloc(0), reason: 'unknown module' };

// The runtime host: modules and their versions, reconciled toward a desired state. It never reads the console's
// database; everything it knows arrives as DesiredState, and everything it learns leaves as a HostReport.
export class Host {
  readonly hostId: string;
  readonly startedAt = new Date().toISOString();
  readonly metrics: HostMetrics;
  readonly cache: ArtifactCache;
  private readonly modules = new Map<string, ModuleRuntime>();
  private readonly events: HostEvent[] = [];
  private pendingEvents: HostEvent[] = [];
  private appliedGeneration = -1;
  /** The running state came from the host's local admin, not the console: the agent re-applies the console's. */
  private overriddenLocally = false;
  private applying: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly crashMarker: CrashMarker | undefined;
  /** Artifacts of the applied state that could not be fetched: when it was last tried, why, and in which generation. */
  private readonly unfetched = new Map<string, { at: number; message: string; generation: number }>();

  constructor(private readonly options: HostOptions) {
    this.hostId = options.hostId ?? 'embedded';
    this.metrics = new HostMetrics({ inflight: () => this.versionStatuses(), latencyGrid: options.latencyGrid });
    this.cache = options.cache ?? new ArtifactCache(path.join(options.dataDir, 'artifacts'));
    this.crashMarker = options.crashMarkerFile ? new CrashMarker(options.crashMarkerFile) : undefined;
  }

  start() {
    this.metrics.start();
    this.timers.push(setInterval(() => this.forEachVersion((v) => void v.probeHealth()), HEALTH_PROBE_MS));
    this.timers.push(setInterval(() => this.forEachVersion((v) => void v.probeSelfTest()), SELF_TEST_PROBE_MS));
    for (const timer of this.timers) timer.unref();
    return this;
  }

  private forEachVersion(visit: (v: VersionRuntime) => void) {
    for (const runtime of this.modules.values()) for (const version of runtime.versions.values()) visit(version);
  }

  private emit(event: Omit<HostEvent, 'time'>) {
    const full: HostEvent = { time: new Date().toISOString(), ...event };
    this.events.push(full);
    if (this.events.length > MAX_EVENTS_KEPT) this.events.shift();
    this.pendingEvents.push(full);
    this.options.onEvent?.(full);
  }

  get generation(): number {
    return this.appliedGeneration;
  }

  get locallyOverridden(): boolean {
    return this.overriddenLocally;
  }

  // Serialised and idempotent: applying a generation already applied changes nothing, unless one side of it is a
  // local override (its generation number says nothing about its content); artifacts it could not fetch are tried
  // again (at most every FETCH_RETRY_MS) for the modules that lack them.
  applyDesiredState(state: DesiredState, options: { local?: boolean } = {}): Promise<void> {
    const local = options.local ?? false;
    const unchanged = () => !local && !this.overriddenLocally && state.generation === this.appliedGeneration;
    const run = this.applying.then(async () => {
      if (unchanged()) {
        if (this.unfetched.size > 0) await this.retryUnfetched(state);
        return;
      }
      await this.reconcile(state);
      this.overriddenLocally = local;
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Whether some artifact of the applied state is still missing (the agent then keeps offering the state). */
  awaitingArtifacts(): boolean {
    return this.unfetched.size > 0;
  }

  private async reconcile(state: DesiredState) {
    const wanted = new Map(state.modules.map((m) => [m.module, m]));
    const sm3s = new Set(state.modules.flatMap((m) => m.versions.map((v) => v.sm3)));
    for (const sm3 of this.unfetched.keys()) if (!sm3s.has(sm3)) this.unfetched.delete(sm3);
    for (const desired of state.modules) await this.reconcileModule(desired, state.generation);
    const leaving = [...this.modules.keys()].filter((name) => !wanted.has(name));
    await Promise.all(leaving.map((name) => this.removeModule(name)));
    this.appliedGeneration = state.generation;
  }

  private get fetchRetryMs(): number {
    return this.options.fetchRetryMs ?? FETCH_RETRY_MS;
  }

  private async retryUnfetched(state: DesiredState) {
    const due = (sm3: string) => {
      const last = this.unfetched.get(sm3);
      return last !== undefined && Date.now() - last.at >= this.fetchRetryMs;
    };
    for (const desired of state.modules) {
      if (desired.versions.some((v) => due(v.sm3))) await this.reconcileModule(desired, state.generation, true);
    }
  }

  // One artifact that cannot be fetched (console lost it, network, wrong bytes) fails its own version, reported once
  // per generation as load-failed; every other version and module of the state still applies.
  private async fetchArtifacts(desired: DesiredModule): Promise<Map<string, string>> {
    const refused = new Map<string, string>();
    const fetcher = this.options.fetchArtifact;
    if (!fetcher) return refused;
    for (const version of desired.versions) {
      const last = this.unfetched.get(version.sm3);
      if (last && Date.now() - last.at < this.fetchRetryMs) {
        refused.set(version.sm3, last.message);
        continue;
      }
      try {
        await this.cache.fetch(version.sm3, fetcher);
        this.unfetched.delete(version.sm3);
      } catch (error) {
        const message =
          error instanceof ArtifactIntegrityError
            ? error.message
            : `could not fetch the artifact of ${desired.module} ${version.version} (SM3 ${version.sm3}): ${error instanceof Error ? error.message : String(error)}`;
        refused.set(version.sm3, message);
        this.unfetched.set(version.sm3, { at: Date.now(), message, generation: last?.generation ?? Number.NaN });
      }
    }
    return refused;
  }

  private async reconcileModule(desired: DesiredModule, generation: number, quietRetry = false) {
    let runtime = this.modules.get(desired.module);
    if (!runtime) {
      runtime = new ModuleRuntime(desired.module, {
        cache: this.cache,
        cellLimits: this.options.cellLimits ?? DEFAULT_CELL_LIMITS,
        metrics: this.metrics,
        emit: (event) => this.emit(event),
        crashMarker: this.crashMarker,
        hangWatchdog: this.options.hangWatchdog,
      });
      this.modules.set(desired.module, runtime);
    }
    runtime.applySettings(desired);
    const refused = await this.fetchArtifacts(desired);
    const keep = new Set<VersionRuntime>();
    const starting: Promise<void>[] = [];
    for (const want of desired.versions) {
      const current = runtime.current(want.version);
      const reusable =
        current &&
        current.sm3 === want.sm3 &&
        current.isolation === want.isolation &&
        current.config === (want.config ?? '') &&
        current.phase !== 'failed' &&
        current.phase !== 'disposed' &&
        current.phase !== 'resident';
      if (reusable) {
        current.weight = want.weight;
        keep.add(current);
        continue;
      }
      // Still unfetchable in the generation that already reported it: the failed instance stays, and says nothing new.
      const missing = this.unfetched.get(want.sm3);
      if (missing && refused.has(want.sm3) && missing.generation === generation && current?.sm3 === want.sm3 && current.phase === 'failed') {
        current.weight = want.weight;
        keep.add(current);
        continue;
      }
      if (missing && refused.has(want.sm3)) missing.generation = generation;
      const inprocRefused = want.isolation === 'inproc' ? this.options.inprocRefusal ?? undefined : undefined;
      const fresh = runtime.addVersion(want, refused.get(want.sm3) ?? inprocRefused);
      keep.add(fresh);
      starting.push(waitUntilSettled(fresh));
    }
    // Instances being replaced keep serving until their successors are up; then the weights switch in one swap.
    await Promise.all(starting);
    runtime.refreshRoutes();
    if (desired.handOff) await runtime.handOff(desired.handOff);
    const leaving = [...runtime.versions.values()].filter((v) => !keep.has(v) && !v.isLeaving);
    for (const v of leaving) v.weight = 0;
    runtime.refreshRoutes();
    // A quiet retry of a missing artifact that is still missing changes nothing worth an event.
    if (!quietRetry || starting.length > 0) {
      this.emit({ module: desired.module, kind: 'weights', message: desired.versions.map((v) => `${v.version}=${v.weight}%`).join(' ') || 'no versions' });
    }
    for (const v of leaving) void runtime.retire(v);
  }

  private async removeModule(name: string) {
    const runtime = this.modules.get(name)!;
    this.modules.delete(name);
    await Promise.all([...runtime.versions.values()].map((v) => runtime.retire(v)));
  }

  /** The HTTP server's path: a plain result when the answer is already there (in-process cells). */
  dispatch(module: string, request: Uint8Array, options?: InvokeOptions): InvokeResult | Promise<InvokeResult> {
    const runtime = this.modules.get(module);
    return runtime ? runtime.dispatch(request, options) : UNKNOWN_MODULE;
  }

  async invoke(module: string, request: Uint8Array, options?: InvokeOptions): Promise<InvokeResult> {
    return this.dispatch(module, request, options);
  }

  hasModule(module: string): boolean {
    return this.modules.has(module);
  }

  versionStatuses(): VersionStatus[] {
    const statuses: VersionStatus[] = [];
    for (const runtime of this.modules.values()) for (const v of runtime.versions.values()) statuses.push(v.status(runtime.module));
    return statuses;
  }

  /**
   * Whether a report should go now: `everyMs` has passed since the last one, or a crash, failed load or failed
   * probes or a hang are not yet reported (the console acts on those without waiting for the next second).
   */
  reportDue(lastReportAt: number, everyMs: number, now = Date.now()): boolean {
    if (now - lastReportAt >= everyMs) return true;
    return this.pendingEvents.some((e) => e.kind === 'crashed' || e.kind === 'load-failed' || e.kind === 'unhealthy' || e.kind === 'hung');
  }

  // What the agent pushes: statuses now, and the metrics and events since the previous report.
  report(): HostReport {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return {
      hostId: this.hostId,
      appliedGeneration: this.appliedGeneration,
      startedAt: this.startedAt,
      versions: this.versionStatuses(),
      metrics: this.metrics.drainSamples(),
      events,
    };
  }

  recentEvents(): HostEvent[] {
    return [...this.events];
  }

  async stop(options: { drain?: boolean } = {}) {
    for (const timer of this.timers) clearInterval(timer);
    this.metrics.stop();
    const modules = [...this.modules.keys()];
    if (options.drain !== false) await Promise.all(modules.map((name) => this.removeModule(name)));
    this.crashMarker?.close();
  }
}

async function waitUntilSettled(version: VersionRuntime) {
  while (version.phase === 'loading' || version.phase === 'initialized' || version.phase === 'self-tested') {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
