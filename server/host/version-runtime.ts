import { inspectElf } from '../artifacts/elf';
import type { ArtifactCache } from './artifact-cache';
import type { VersionMetrics } from './metrics';
import { CellCallError, createCell, type Cell } from './cell';
import { describeCellLimits, type CellLimits } from './cell-limits';
import { HangWatchdog, type HangJudgement, type HangWatchdogSettings } from './hang-watchdog';
import type { ArtifactFacts, DesiredVersion, HostEvent, Isolation, LoadBreakdown, VersionPhase, VersionStatus } from '../protocol';

export const SELF_TEST_LIMIT_MS = 10_000;
const PROBE_TIMEOUT_MS = 1_000;
const UNHEALTHY_AFTER_FAILED_PROBES = 3;
const MAX_CELL_REPLACEMENTS = 3;

export interface VersionRuntimeContext {
  module: string;
  cache: ArtifactCache;
  /** Caps on a process cell. */
  cellLimits: CellLimits;
  emit(event: Omit<HostEvent, 'time' | 'module'>): void;
  // Called whenever serving/healthy/hung changes, so the module's router can be rebuilt at once.
  changed(): void;
  /** Watches a process cell for a hung call (in-process cells never have a watchdog); absent turns it off. */
  hangWatch?: HangWatchContext;
}

export interface HangWatchContext {
  settings: HangWatchdogSettings;
  requestTimeoutMs(): number;
  /** The p99.9 run time (ms) of the module's other versions, for a version with no history of its own; null if none has any. */
  priorP999Ms(self: VersionRuntime): number | null;
  /** Counts a hang in the version's metrics. */
  countHang(): void;
}

let instanceCounter = 0;

// One version of one module on this host: its cell, its lifecycle phase and its health. A version reloaded with
// other settings (isolation, config) is a new instance beside the old one until the new one serves.
export class VersionRuntime {
  readonly instanceId = `i${++instanceCounter}`;
  readonly version: string;
  readonly sm3: string;
  readonly isolation: Isolation;
  readonly config: string;
  weight: number;
  phase: VersionPhase = 'loading';
  healthy = false;
  reason: string | undefined;
  selfTestReport: string | undefined;
  load: LoadBreakdown = {};
  inFlight = 0;
  goRuntime = false;
  since = new Date().toISOString();
  cell: Cell | null = null;
  /** Resolved on the first call, so the hot path skips two map lookups. */
  metrics: VersionMetrics | undefined;
  private failedProbes = 0;
  private replacements = 0;
  private leaving = false;
  private drained: (() => void) | null = null;
  private readonly signerSerial: string | undefined;
  /** Process cells only: a hung in-process call blocks the event loop, and with it any watchdog (docs/host.md). */
  readonly watchdog: HangWatchdog | null;
  private hangReason: string | undefined;
  /** SHA-256 of the bytes verified before loading, for the load and unload events. */
  private sha256 = '';

  constructor(
    private readonly context: VersionRuntimeContext,
    desired: DesiredVersion,
  ) {
    this.version = desired.version;
    this.sm3 = desired.sm3;
    this.isolation = desired.isolation;
    this.config = desired.config ?? '';
    this.weight = desired.weight;
    this.signerSerial = desired.signerSerial;
    const watch = context.hangWatch;
    this.watchdog =
      watch && this.isolation === 'process'
        ? new HangWatchdog(
            {
              priorP999Ms: () => watch.priorP999Ms(this),
              requestTimeoutMs: () => watch.requestTimeoutMs(),
              hung: (judgement) => this.onHung(judgement, watch),
              released: (ranMs) => this.onReleased(ranMs),
            },
            watch.settings,
          )
        : null;
  }

  /** One of its calls has run far past its normal latency: new calls go to other versions until it ends. */
  get hung(): boolean {
    return this.hangReason !== undefined;
  }

  private onHung(judgement: HangJudgement, watch: HangWatchContext) {
    this.hangReason =
      `hung: a call has run ${judgement.ranMs.toFixed(0)} ms, past ${judgement.thresholdMs.toFixed(0)} ms (${judgement.basis}); ` +
      `new calls go to other versions until it ends, and the cell is killed at the ${watch.requestTimeoutMs()} ms request timeout`;
    watch.countHang();
    this.context.changed();
    this.context.emit({ version: this.version, kind: 'hung', message: this.hangReason });
  }

  // The stuck call ended: answered late (the version takes calls again), or killed at the timeout (a crash, told as one).
  private onReleased(ranMs: number) {
    this.hangReason = undefined;
    this.context.changed();
    if (this.serving) this.context.emit({ version: this.version, kind: 'healthy', message: `the stuck call answered after ${ranMs.toFixed(0)} ms: takes new calls again` });
  }

  private artifactFacts(result: ArtifactFacts['result']): ArtifactFacts {
    // A digest that is not one (refused before any file was touched) names no file.
    const path = /^[0-9a-f]{64}$/.test(this.sm3) ? this.context.cache.pathOf(this.sm3) : '';
    const facts: ArtifactFacts = { path, sha256: this.sha256, result };
    if (this.signerSerial) facts.signerSerial = this.signerSerial;
    return facts;
  }

  get isLeaving(): boolean {
    return this.leaving;
  }

  get serving(): boolean {
    return this.phase === 'serving' && this.healthy && this.cell?.alive === true;
  }

  private setPhase(phase: VersionPhase, reason?: string) {
    this.phase = phase;
    this.reason = reason;
    this.since = new Date().toISOString();
    this.context.changed();
  }

  // verify → dlopen → identity checks → hp_init → hp_self_test; any failure leaves the version failed, never serving.
  async start(refusal?: string): Promise<void> {
    try {
      if (refusal) throw new Error(refusal);
      const verified = await this.context.cache.verify(this.sm3);
      this.load.verifyMs = verified.ms;
      this.sha256 = verified.sha256;
      const elf = await inspectElf(verified.path);
      this.goRuntime = elf.goBuildInfo !== null;
      // The registry refuses these already; the host checks again because it loads whatever it is sent.
      if (elf.staticTls && !this.goRuntime) throw new Error('static (initial-exec) TLS: refused, dlopen into a running process can fail');
      const cell = createCell({ path: verified.path, isolation: this.isolation, goRuntime: this.goRuntime, limits: this.context.cellLimits });
      this.cell = cell;
      const identity = await cell.open();
      this.load.dlopenMs = identity.dlopenMs;
      const mismatch = this.identityProblem(identity);
      if (mismatch) throw new Error(mismatch);
      const init = await cell.init(Buffer.from(this.config));
      this.load.initMs = init.ms;
      if (init.code !== 0) throw new Error(`hp_init returned ${init.code}: the module refused its configuration`);
      this.setPhase('initialized');
      const test = await cell.selfTest(SELF_TEST_LIMIT_MS);
      this.load.selfTestMs = test.ms;
      this.selfTestReport = test.report;
      if (test.code !== 0) throw new Error(`hp_self_test returned ${test.code}: ${test.report.trim() || '(no report)'}`);
      this.setPhase('self-tested');
      cell.onDeath((error) => this.onCellDeath(error));
      this.healthy = true;
      this.failedProbes = 0;
      this.setPhase('serving');
      this.context.emit({ version: this.version, kind: 'serving', message: `serving (${this.isolation}); load ${formatBreakdown(this.load)}`, artifact: this.artifactFacts('loaded') });
    } catch (error) {
      this.healthy = false;
      await this.cell?.dispose().catch(() => undefined);
      this.cell = null;
      const message = describe(error);
      this.setPhase('failed', message);
      this.context.emit({ version: this.version, kind: 'load-failed', message, artifact: this.artifactFacts('refused') });
    }
  }

  private identityProblem(identity: { abiVersion: number; name: string; version: string }): string | null {
    if (identity.abiVersion !== 1) return `hp_abi_version() is ${identity.abiVersion}, this host speaks ABI 1`;
    if (identity.name !== this.context.module) return `hp_module_name() is "${identity.name}" but the manifest says "${this.context.module}"`;
    if (identity.version !== this.version) return `hp_module_version() is "${identity.version}" but the manifest says "${this.version}"`;
    return null;
  }

  private onCellDeath(error: CellCallError) {
    if (this.leaving) return;
    this.healthy = false;
    const how = error.kind === 'timeout' ? 'killed after a call timed out' : error.signal ? `signal ${error.signal}` : `exit ${error.exitCode}`;
    const caps = this.isolation === 'process' ? `; ${describeCellLimits(this.context.cellLimits)}` : '';
    const message = `cell died (${how}${caps})${error.stderrTail ? `; last output: ${error.stderrTail.trim().slice(-600)}` : ''}`;
    this.setPhase('crashed', message);
    this.context.emit({ version: this.version, kind: 'crashed', message });
    this.scheduleReplacement();
  }

  // A dead cell is replaced (a fresh process, loaded and self-tested again) a few times, with backoff.
  private scheduleReplacement() {
    if (this.replacements >= MAX_CELL_REPLACEMENTS) return;
    const delay = 250 * 2 ** this.replacements++;
    setTimeout(() => {
      if (!this.leaving && this.phase === 'crashed') {
        this.phase = 'loading';
        void this.start();
      }
    }, delay).unref();
  }

  async probeHealth(): Promise<void> {
    if (this.phase !== 'serving' || !this.cell?.alive) return;
    let problem: string | null = null;
    const token = this.watchdog?.started(true);
    try {
      const code = await this.cell.health(PROBE_TIMEOUT_MS);
      if (code !== 0) problem = `hp_health returned ${code}`;
    } catch (error) {
      if (error instanceof CellCallError && error.kind !== 'timeout') return;
      problem = describe(error);
    } finally {
      if (token !== undefined) this.watchdog!.ended(token, false);
    }
    this.recordProbe(problem);
  }

  async probeSelfTest(): Promise<void> {
    if (this.phase !== 'serving' || !this.cell?.alive) return;
    const token = this.watchdog?.started(true);
    try {
      const test = await this.cell.selfTest(SELF_TEST_LIMIT_MS);
      this.selfTestReport = test.report;
      this.recordProbe(test.code === 0 ? null : `periodic hp_self_test returned ${test.code}: ${test.report.trim()}`, true);
    } catch (error) {
      this.recordProbe(describe(error), true);
    } finally {
      if (token !== undefined) this.watchdog!.ended(token, false);
    }
  }

  private recordProbe(problem: string | null, decisive = false) {
    if (problem === null) {
      this.failedProbes = 0;
      if (!this.healthy) {
        this.healthy = true;
        this.reason = undefined;
        this.context.changed();
        this.context.emit({ version: this.version, kind: 'healthy', message: 'probes pass again' });
      }
      return;
    }
    this.failedProbes = decisive ? UNHEALTHY_AFTER_FAILED_PROBES : this.failedProbes + 1;
    if (this.failedProbes >= UNHEALTHY_AFTER_FAILED_PROBES && this.healthy) {
      this.healthy = false;
      this.reason = `unhealthy: ${problem}`;
      this.context.changed();
      this.context.emit({ version: this.version, kind: 'unhealthy', message: this.reason });
    }
  }

  /** `at`: when it was sent (performance.now()). Returns the token for callFinished (the watchdog's; 0 without one). */
  callStarted(at?: number): number {
    this.inFlight++;
    return this.watchdog ? this.watchdog.started(false, at) : 0;
  }

  /** `answered`: the module gave an answer (any code), rather than the cell failing the call. */
  callFinished(token = 0, answered = true) {
    this.watchdog?.ended(token, answered);
    this.inFlight--;
    if (this.inFlight === 0 && this.drained) this.drained();
  }

  // Stops taking requests (the router already excludes it), waits for in-flight calls up to the deadline,
  // then shuts down and unloads. A drain that times out is reported, and the cell is still disposed.
  async drainAndDispose(deadlineMs: number): Promise<{ drainMs: number; timedOut: boolean; resident: boolean }> {
    this.leaving = true;
    const started = performance.now();
    if (this.phase === 'serving' || this.phase === 'crashed') this.setPhase('draining');
    let timedOut = false;
    if (this.inFlight > 0) {
      timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), deadlineMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      this.drained = null;
    }
    const drainMs = performance.now() - started;
    if (timedOut) {
      this.context.emit({ version: this.version, kind: 'drain-timeout', message: `drain deadline ${deadlineMs} ms passed with ${this.inFlight} call(s) in flight; disposing anyway` });
    } else {
      this.context.emit({ version: this.version, kind: 'drained', message: `drained in ${drainMs.toFixed(0)} ms` });
    }
    this.watchdog?.stop();
    let resident = false;
    if (this.cell) {
      const disposed = await this.cell.dispose().catch((error) => ({ resident: false, detail: describe(error) }));
      resident = disposed.resident;
      this.cell = null;
    }
    this.healthy = false;
    if (resident) {
      this.setPhase('resident', 'dlclose did not unload the library (it is still mapped): it stays resident until the host restarts');
      this.context.emit({ version: this.version, kind: 'resident', message: this.reason!, artifact: this.artifactFacts('resident') });
    } else {
      this.setPhase(this.phase === 'failed' ? 'failed' : 'disposed');
      this.context.emit({ version: this.version, kind: 'disposed', message: 'unloaded', artifact: this.artifactFacts('unloaded') });
    }
    return { drainMs, timedOut, resident };
  }

  status(module: string): VersionStatus {
    return {
      module,
      version: this.version,
      sm3: this.sm3,
      isolation: this.isolation,
      phase: this.phase,
      weight: this.weight,
      // A hung version reports itself unhealthy while it is, so the rollout analysis sees it (server/rollout).
      healthy: this.healthy && !this.hung,
      reason: this.hangReason ?? this.reason,
      selfTestReport: this.selfTestReport,
      load: this.load,
      pid: this.cell?.pid,
      inFlight: this.inFlight,
      goRuntime: this.goRuntime,
      since: this.since,
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function formatBreakdown(load: LoadBreakdown): string {
  const ms = (v?: number) => (v === undefined ? '—' : `${v.toFixed(1)} ms`);
  return `verify ${ms(load.verifyMs)}, dlopen ${ms(load.dlopenMs)}, init ${ms(load.initMs)}, self-test ${ms(load.selfTestMs)}`;
}
