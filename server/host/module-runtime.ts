import { CellCallError, type Cell } from './cell';
import { InprocCell } from './inproc-cell';
import type { HostMetrics, Outcome } from './metrics';
import { WeightedRouter } from './router';
import type { DesiredModule, DesiredVersion, HostEvent } from '../protocol';
import { VersionRuntime, type VersionRuntimeContext } from './version-runtime';
import type { ArtifactCache } from './artifact-cache';
import type { CellLimits } from './cell-limits';
import type { CrashMarker } from './crash-marker';
import { DEFAULT_HANG_SETTINGS, type HangWatchdogSettings } from './hang-watchdog';

export const DEFAULT_REQUEST_TIMEOUT_MS = 1_000;
export const DEFAULT_DRAIN_DEADLINE_MS = 30_000;

export interface InvokeOptions {
  grayId?: string | null;
  pinVersion?: string | null;
}

export interface InvokeResult {
  status: 200 | 422 | 500 | 502 | 503 | 504;
  version: string | null;
  code: number | null;
  body: Buffer;
  reason?: string;
}

const EMPTY = Buffer.alloc(0);

// Which instance carries a version's traffic: one that serves beats one that does not, a newer one an older.
function rank(v: VersionRuntime): number {
  return (v.serving ? 2 : 0) + (v.isLeaving ? 0 : 1);
}

function outcomeOf(code: number): { status: 200 | 422 | 500; outcome: Outcome } {
  if (code === 0) return { status: 200, outcome: 'ok' };
  if (code >= 1 && code <= 999) return { status: 422, outcome: 'app' };
  return { status: 500, outcome: 'fault' };
}

// One module on this host: its versions, the router that splits traffic between them, and the gate that
// holds its requests during a state hand-off.
export class ModuleRuntime {
  readonly versions = new Map<string, VersionRuntime>();
  readonly router = new WeightedRouter();
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  drainDeadlineMs = DEFAULT_DRAIN_DEADLINE_MS;
  private hold: Promise<void> | null = null;
  private carriers = new Map<string, VersionRuntime>();
  private readonly completedHandOffs = new Set<string>();

  constructor(
    readonly module: string,
    private readonly deps: {
      cache: ArtifactCache;
      cellLimits: CellLimits;
      metrics: HostMetrics;
      emit(event: Omit<HostEvent, 'time'>): void;
      crashMarker?: CrashMarker;
      /** The hang watchdog of process cells (default DEFAULT_HANG_SETTINGS); null turns it off. */
      hangWatchdog?: HangWatchdogSettings | null;
    },
  ) {}

  private context(version: string): VersionRuntimeContext {
    const settings = this.deps.hangWatchdog === undefined ? DEFAULT_HANG_SETTINGS : this.deps.hangWatchdog;
    const hangWatch = settings && {
      settings,
      requestTimeoutMs: () => this.requestTimeoutMs,
      priorP999Ms: (self: VersionRuntime) => this.priorP999Ms(self),
      countHang: () => this.deps.metrics.forVersion(this.module, version).countHang(),
    };
    return {
      module: this.module,
      cache: this.deps.cache,
      cellLimits: this.deps.cellLimits,
      emit: (event) => this.deps.emit({ ...event, module: this.module }),
      changed: () => this.refreshRoutes(),
      hangWatch: hangWatch || undefined,
    };
  }

  // The same module's other versions do the same work: their normal latency is the best guess for a newcomer's.
  private priorP999Ms(self: VersionRuntime): number | null {
    let prior: number | null = null;
    for (const v of this.versions.values()) {
      const p = v === self ? null : (v.watchdog?.p999Ms() ?? null);
      if (p !== null && (prior === null || p > prior)) prior = p;
    }
    return prior;
  }

  // Routes are keyed by version (so a gray id lands on the same version on every host and after restarts) and
  // map to the instance carrying that version now; table and map are rebuilt whole and swapped in one step.
  refreshRoutes() {
    const carriers = new Map<string, VersionRuntime>();
    for (const v of this.versions.values()) {
      const best = carriers.get(v.version);
      if (!best || rank(v) >= rank(best)) carriers.set(v.version, v);
    }
    this.carriers = carriers;
    // A hung version takes no new calls while another version can, and all of them do when all are hung: a queue
    // behind a stuck call still beats 503 for everyone.
    let anyFree = false;
    for (const v of carriers.values()) if (v.serving && !v.hung) anyFree = true;
    this.router.setTargets([...carriers.values()].map((v) => ({ key: v.version, weight: v.weight, eligible: v.serving && (!v.hung || !anyFree) })));
  }

  /** `refusal`: why the version's artifact was refused before loading, which fails it at once. */
  addVersion(desired: DesiredVersion, refusal?: string): VersionRuntime {
    const runtime = new VersionRuntime(this.context(desired.version), desired);
    this.versions.set(runtime.instanceId, runtime);
    this.refreshRoutes();
    void runtime.start(refusal);
    return runtime;
  }

  // The instance currently meant to carry this version's traffic (the newest one that is not leaving).
  current(version: string): VersionRuntime | undefined {
    let found: VersionRuntime | undefined;
    for (const v of this.versions.values()) if (v.version === version && !v.isLeaving) found = v;
    return found;
  }

  private serving(version: string): VersionRuntime | undefined {
    for (const v of this.versions.values()) if (v.version === version && v.serving) return v;
    return undefined;
  }

  async retire(instance: VersionRuntime) {
    instance.weight = 0;
    this.refreshRoutes();
    const result = await instance.drainAndDispose(this.drainDeadlineMs);
    if (!result.resident) this.versions.delete(instance.instanceId);
    if (![...this.versions.values()].some((v) => v.version === instance.version)) this.deps.metrics.drop(this.module, instance.version);
    this.refreshRoutes();
    return result;
  }

  applySettings(desired: DesiredModule) {
    this.requestTimeoutMs = desired.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.drainDeadlineMs = desired.drainDeadlineMs ?? DEFAULT_DRAIN_DEADLINE_MS;
  }

  // Synchronous for in-process cells (no Promise on the hot path), a Promise for process cells and while held.
  // `rerouted`: the request already went to a cell that died before running it, and is not sent on a third time.
  dispatch(request: Uint8Array, options: InvokeOptions = {}, rerouted = false): InvokeResult | Promise<InvokeResult> {
    if (this.hold) return this.hold.then(() => this.dispatch(request, options, rerouted));
    let target = this.carriers.get(options.pinVersion ?? this.router.pick(options.grayId ?? undefined) ?? '');
    // A process cell stops serving when its child exits, a little before its death is reported and the routes are
    // rebuilt: routing again at once sends the request to a version that serves rather than answering 503.
    if (target && !target.serving && !options.pinVersion) {
      this.refreshRoutes();
      target = this.carriers.get(this.router.pick(options.grayId ?? undefined) ?? '');
    }
    const cell = target?.cell;
    if (!target || !cell || !target.serving) {
      return {
        status: 503,
        version: options.pinVersion ?? null,
        code: null,
        body: EMPTY,
        reason: options.pinVersion ? `version ${options.pinVersion} is not serving here` : 'no healthy version',
      };
    }
    if (cell instanceof InprocCell) return this.callInproc(target, cell, request);
    return this.callCell(target, cell, request, options, rerouted);
  }

  private callInproc(target: VersionRuntime, cell: InprocCell, request: Uint8Array): InvokeResult {
    const metrics = (target.metrics ??= this.deps.metrics.forVersion(this.module, target.version));
    const marker = this.deps.crashMarker;
    const started = performance.now();
    target.callStarted();
    marker?.enter(this.module, target.version);
    try {
      const answer = cell.handleSync(request);
      const { status, outcome } = outcomeOf(answer.code);
      metrics.record(outcome, (performance.now() - started) * 1000);
      return { status, version: target.version, code: answer.code, body: answer.body };
    } catch (error) {
      metrics.record('crashed', (performance.now() - started) * 1000);
      return { status: 502, version: target.version, code: null, body: EMPTY, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      marker?.exit();
      target.callFinished();
    }
  }

  private async callCell(target: VersionRuntime, cell: Cell, request: Uint8Array, options: InvokeOptions, rerouted: boolean): Promise<InvokeResult> {
    const metrics = (target.metrics ??= this.deps.metrics.forVersion(this.module, target.version));
    const started = performance.now();
    // A cell answers in order: with more work queued than the request timeout, a new call would wait past it. It is
    // refused unsent (safe to retry) and counted as a timeout of the version, so a canary too slow for its traffic
    // is caught by its error rate instead of piling up callers.
    const queuedMs = cell.queuedWorkMs();
    if (queuedMs > this.requestTimeoutMs) {
      metrics.record('timeout', (performance.now() - started) * 1000);
      const reason = `version ${target.version} is overloaded: about ${Math.round(queuedMs)} ms of calls queued, over the ${this.requestTimeoutMs} ms request timeout; not sent`;
      return { status: 503, version: target.version, code: null, body: EMPTY, reason };
    }
    const token = target.callStarted(started);
    let answered = false;
    try {
      const answer = await cell.handle(request, this.requestTimeoutMs);
      answered = true;
      const { status, outcome } = outcomeOf(answer.code);
      metrics.record(outcome, (performance.now() - started) * 1000);
      return { status, version: target.version, code: answer.code, body: answer.body };
    } catch (error) {
      // Queued behind a call that killed the cell, it never reached the module: another version can run it once.
      if (error instanceof CellCallError && error.kind === 'not-run' && !rerouted) return this.dispatch(request, options, true);
      const latencyUs = (performance.now() - started) * 1000;
      if (error instanceof CellCallError && error.kind === 'timeout') {
        metrics.record('timeout', latencyUs);
        return { status: 504, version: target.version, code: null, body: EMPTY, reason: `no answer within ${this.requestTimeoutMs} ms` };
      }
      metrics.record('crashed', latencyUs);
      return { status: 502, version: target.version, code: null, body: EMPTY, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      target.callFinished(token, answered);
    }
  }

  // Export from one version, import into the other, with this module's requests held so none sees half a state.
  async handOff(handOff: { from: string; to: string; id: string }): Promise<{ pauseMs: number } | null> {
    if (this.completedHandOffs.has(handOff.id)) return null;
    const from = this.serving(handOff.from);
    const to = this.serving(handOff.to);
    if (!from?.cell || !to?.cell || !from.serving || !to.serving) {
      this.deps.emit({ module: this.module, kind: 'hand-off', message: `state hand-off ${handOff.from} → ${handOff.to} skipped: both versions must be serving` });
      return null;
    }
    let release!: () => void;
    this.hold = new Promise((resolve) => (release = resolve));
    const started = performance.now();
    try {
      while (from.inFlight > 0 || to.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      const state = await from.cell.exportState(this.requestTimeoutMs);
      if (state === null) throw new Error(`${handOff.from} has no hp_state_export`);
      const code = await to.cell.importState(state, this.requestTimeoutMs);
      if (code !== 0) throw new Error(`hp_state_import of ${handOff.to} returned ${code}`);
      const pauseMs = performance.now() - started;
      this.completedHandOffs.add(handOff.id);
      this.deps.emit({ module: this.module, kind: 'hand-off', message: `state ${handOff.from} → ${handOff.to}: ${state.length} bytes, requests held ${pauseMs.toFixed(1)} ms` });
      return { pauseMs };
    } catch (error) {
      this.deps.emit({ module: this.module, kind: 'hand-off', message: `state hand-off ${handOff.from} → ${handOff.to} failed: ${(error as Error).message}` });
      return null;
    } finally {
      this.hold = null;
      release();
    }
  }
}
