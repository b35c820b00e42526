import { createHistogram, monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { ExpositionWriter, labelSet } from './prometheus';
import type { MetricSample } from '../protocol';

// Per version per second: counts by outcome and an HDR latency histogram, rolled into a MetricSample each
// second (what the console charts and analyses) and kept cumulatively for Prometheus.

/**
 * ok 200, app 422 (an application answer 1..999), fault 500 (-1), crashed 502 (the cell died), timeout 504 (or 503
 * when refused unsent because the cell's queue would outlast the timeout).
 */
export type Outcome = 'ok' | 'app' | 'fault' | 'crashed' | 'timeout';
export const OUTCOMES: readonly Outcome[] = ['ok', 'app', 'fault', 'crashed', 'timeout'];

export type OutcomeCounts = Record<Outcome, number>;
export interface VersionTotals extends OutcomeCounts {
  requests: number;
  latencySumUs: number;
  /** Times the hang watchdog declared this version hung (hang-watchdog.ts). */
  hangs: number;
}

// HDR drops values above its range without a word, so longer calls are recorded as this (one hour).
const HIGHEST_LATENCY_US = 3_600_000_000;
const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;

const SECOND_MS = 1_000;

/**
 * Percentiles at which a worker describes a second's latency histogram to its primary (workers/aggregate.ts merges
 * them): every 2 % up to 90, every 0.5 % up to 99, every 0.1 % above, so a merged p50/p95/p99 is off by at most
 * 1 % of rank (0.1 % at the tail). Only workers compute it: ~100 percentile reads per version per second.
 */
export const LATENCY_GRID: readonly number[] = [
  ...Array.from({ length: 45 }, (_, i) => (i + 1) * 2),
  ...Array.from({ length: 18 }, (_, i) => 90.5 + i * 0.5),
  ...Array.from({ length: 10 }, (_, i) => Math.round((99.1 + i * 0.1) * 10) / 10),
];

/** A second of one version as a worker hands it to its primary: the sample and its latency at LATENCY_GRID. */
export interface GriddedSample {
  sample: MetricSample;
  grid: number[];
}
const floorSecond = (ms: number) => ms - (ms % SECOND_MS);

export class VersionMetrics {
  /** Prometheus labels of this version, formatted once. */
  readonly labels: string;
  private readonly cumulative: VersionTotals = { requests: 0, latencySumUs: 0, ok: 0, app: 0, fault: 0, crashed: 0, timeout: 0, hangs: 0 };
  private readonly window: OutcomeCounts = { ok: 0, app: 0, fault: 0, crashed: 0, timeout: 0 };
  private readonly latency: RecordableHistogram = createHistogram({ lowest: 1, highest: HIGHEST_LATENCY_US, figures: 3 });
  private closed: MetricSample | null = null;
  private closedGrid: number[] = [];

  constructor(
    readonly module: string,
    readonly version: string,
    private readonly withGrid = false,
  ) {
    this.labels = labelSet({ module, version });
  }

  /** The last closed second, whose percentiles Prometheus shows; null until the first closes. */
  get lastSecond(): MetricSample | null {
    return this.closed;
  }

  /** The last closed second's latency at LATENCY_GRID (empty unless the metrics keep grids, or with no requests). */
  get lastSecondGrid(): number[] {
    return this.closedGrid;
  }

  /** Counts since this version's metrics were created. */
  get totals(): Readonly<VersionTotals> {
    return this.cumulative;
  }

  countHang(): void {
    this.cumulative.hangs++;
  }

  record(outcome: Outcome, latencyUs: number): void {
    const { window, cumulative } = this;
    // A switch rather than window[outcome]++: the keyed stores cost as much as the histogram record.
    switch (outcome) {
      case 'ok': window.ok++; cumulative.ok++; break;
      case 'app': window.app++; cumulative.app++; break;
      case 'fault': window.fault++; cumulative.fault++; break;
      case 'crashed': window.crashed++; cumulative.crashed++; break;
      case 'timeout': window.timeout++; cumulative.timeout++; break;
    }
    // The histogram takes integers ≥ 1 only (`>= 1` is also false for NaN); the sum adds the same value, so a
    // bad clock reading cannot turn it into NaN for good.
    const whole = Math.round(latencyUs);
    const recorded = whole >= 1 ? (whole <= HIGHEST_LATENCY_US ? whole : HIGHEST_LATENCY_US) : 1;
    cumulative.requests++;
    cumulative.latencySumUs += recorded;
    this.latency.record(recorded);
  }

  /** Closes the window that began at `secondStart`: returns its sample and starts an empty one. */
  rollSecond(secondStart: Date): MetricSample {
    const { window, latency } = this;
    const measured = latency.count > 0;
    const sample: MetricSample = {
      module: this.module,
      version: this.version,
      second: secondStart.toISOString(),
      requests: window.ok + window.app + window.fault + window.crashed + window.timeout,
      ok: window.ok,
      app4xx: window.app,
      errors5xx: window.fault + window.crashed,
      timeouts: window.timeout,
      crashes: window.crashed,
      p50: measured ? latency.percentile(50) : 0,
      p95: measured ? latency.percentile(95) : 0,
      p99: measured ? latency.percentile(99) : 0,
      max: measured ? latency.max : 0,
    };
    window.ok = window.app = window.fault = window.crashed = window.timeout = 0;
    this.closedGrid = measured && this.withGrid ? LATENCY_GRID.map((p) => latency.percentile(p)) : [];
    if (measured) latency.reset();
    this.closed = sample;
    return sample;
  }
}

export interface InflightCount {
  module: string;
  version: string;
  inFlight: number;
}

export interface HostMetricsOptions {
  /** How many samples recent() and drainSamples() can reach back (default 3,600). */
  capacity?: number;
  /** Live in-flight calls (the version runtimes count them; e.g. `() => host.versionStatuses()`). Without it, hotplane_inflight is not exported. */
  inflight?: () => Iterable<InflightCount>;
  /** Keep each sample's latency at LATENCY_GRID too (a worker, whose primary merges the workers' histograms). */
  latencyGrid?: boolean;
}

export interface EventLoopSecond {
  delayP99Seconds: number;
  delayMaxSeconds: number;
  utilization: number;
}

export class HostMetrics {
  private readonly byModule = new Map<string, Map<string, VersionMetrics>>();
  private readonly capacity: number;
  private readonly ring: MetricSample[] = [];
  private readonly ringSecondMs: Float64Array;
  private readonly ringGrid: number[][] = [];
  private written = 0;
  private drained = 0;
  private windowStart = floorSecond(Date.now());
  private timer: NodeJS.Timeout | null = null;
  private loopDelay: IntervalHistogram | null = null;
  private loopUtilizationMark: EventLoopUtilization | null = null;
  private loopLastSecond: EventLoopSecond | null = null;

  constructor(private readonly options: HostMetricsOptions = {}) {
    this.capacity = options.capacity ?? 3_600;
    if (!(Number.isInteger(this.capacity) && this.capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${options.capacity}`);
    this.ringSecondMs = new Float64Array(this.capacity);
  }

  forVersion(module: string, version: string): VersionMetrics {
    let versions = this.byModule.get(module);
    if (versions === undefined) this.byModule.set(module, (versions = new Map()));
    let metrics = versions.get(version);
    if (metrics === undefined) versions.set(version, (metrics = new VersionMetrics(module, version, this.options.latencyGrid)));
    return metrics;
  }

  /** Forgets a version; the requests of its unfinished second still become a sample. */
  drop(module: string, version: string): void {
    const versions = this.byModule.get(module);
    const metrics = versions?.get(version);
    if (!versions || !metrics) return;
    const unfinished = metrics.rollSecond(new Date(this.windowStart));
    if (unfinished.requests > 0) this.keep(unfinished, this.windowStart, metrics.lastSecondGrid);
    versions.delete(version);
    if (versions.size === 0) this.byModule.delete(module);
  }

  // Ticks on wall-clock second boundaries so a sample's `second` means the same on every host.
  start(): void {
    if (this.timer) return;
    this.windowStart = floorSecond(Date.now());
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.loopUtilizationMark = performance.eventLoopUtilization();
    const schedule = () => {
      this.timer = setTimeout(() => {
        // A timer counts from the event loop's cached clock, so it can fire a few ms before the second is over.
        // Closing then would label the sliver left of it as the next second, and every later second one ahead.
        if (Date.now() >= this.windowStart + SECOND_MS) this.closeSecond();
        schedule();
      }, SECOND_MS - (Date.now() % SECOND_MS));
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.loopDelay?.disable();
    this.loopDelay = null;
  }

  /**
   * Rolls every version's window into samples (start() does this each second). Seconds without requests are
   * not kept: the ring's reach and the report's size follow traffic, not the number of idle versions.
   */
  closeSecond(now = Date.now()): void {
    const secondMs = this.windowStart;
    const second = new Date(secondMs);
    for (const versions of this.byModule.values()) {
      for (const metrics of versions.values()) {
        const sample = metrics.rollSecond(second);
        if (sample.requests > 0) this.keep(sample, secondMs, metrics.lastSecondGrid);
      }
    }
    // A timer that fires a hair early must not label two windows with the same second.
    this.windowStart = Math.max(floorSecond(now), secondMs + SECOND_MS);
    this.closeEventLoopSecond();
  }

  private closeEventLoopSecond() {
    if (!this.loopDelay || !this.loopUtilizationMark) return;
    const mark = performance.eventLoopUtilization();
    this.loopLastSecond = {
      delayP99Seconds: this.loopDelay.percentile(99) / 1e9,
      delayMaxSeconds: this.loopDelay.max / 1e9,
      utilization: performance.eventLoopUtilization(mark, this.loopUtilizationMark).utilization,
    };
    this.loopUtilizationMark = mark;
    this.loopDelay.reset();
  }

  private keep(sample: MetricSample, secondMs: number, grid: number[]) {
    const slot = this.written % this.capacity;
    this.ring[slot] = sample;
    if (this.options.latencyGrid) this.ringGrid[slot] = grid;
    this.ringSecondMs[slot] = secondMs;
    this.written++;
  }

  // Oldest first; a drain that falls behind by more than the capacity loses the oldest samples.
  private samplesSince(sequence: number, keep: (sample: MetricSample, secondMs: number) => boolean): MetricSample[] {
    const found: MetricSample[] = [];
    for (let n = Math.max(sequence, this.written - this.capacity); n < this.written; n++) {
      const slot = n % this.capacity;
      if (keep(this.ring[slot], this.ringSecondMs[slot])) found.push(this.ring[slot]);
    }
    return found;
  }

  /** The samples kept since the previous drain. */
  drainSamples(): MetricSample[] {
    const samples = this.samplesSince(this.drained, () => true);
    this.drained = this.written;
    return samples;
  }

  /** drainSamples() with each sample's latency grid (kept only with the `latencyGrid` option). */
  drainGriddedSamples(): GriddedSample[] {
    const found: GriddedSample[] = [];
    for (let n = Math.max(this.drained, this.written - this.capacity); n < this.written; n++) {
      const slot = n % this.capacity;
      found.push({ sample: this.ring[slot], grid: this.ringGrid[slot] ?? [] });
    }
    this.drained = this.written;
    return found;
  }

  /** Every version's cumulative totals and its last closed second, for a worker's snapshot to its primary. */
  versionSnapshots(): { module: string; version: string; totals: VersionTotals; last: GriddedSample | null }[] {
    const found = [];
    for (const versions of this.byModule.values()) {
      for (const m of versions.values()) {
        const last = m.lastSecond && m.lastSecond.requests > 0 ? { sample: m.lastSecond, grid: m.lastSecondGrid } : null;
        found.push({ module: m.module, version: m.version, totals: { ...m.totals }, last });
      }
    }
    return found;
  }

  /** The event loop's last closed second (null before the first). */
  get eventLoop(): EventLoopSecond | null {
    return this.loopLastSecond;
  }

  /** Kept samples, oldest first; optionally one module's, and only of the last `seconds` closed seconds. */
  recent(module?: string, seconds?: number): MetricSample[] {
    const from = seconds === undefined ? -Infinity : this.windowStart - seconds * SECOND_MS;
    return this.samplesSince(0, (sample, secondMs) => secondMs >= from && (module === undefined || sample.module === module));
  }

  prometheus(): string {
    const out = new ExpositionWriter();
    const all: VersionMetrics[] = [];
    for (const versions of this.byModule.values()) all.push(...versions.values());
    writeVersionFamilies(out, all.map((m) => ({ labels: m.labels, totals: m.totals, last: m.lastSecond })));
    if (this.options.inflight) writeInflightFamily(out, this.options.inflight());
    writeProcessFamilies(out, processFigures(this.loopLastSecond));
    return out.toString();
  }
}

/** What /metrics says of one version: cumulative totals and the last closed second (its quantiles). */
export interface VersionExposition {
  labels: string;
  totals: Readonly<VersionTotals>;
  last: MetricSample | null;
}

export function writeVersionFamilies(out: ExpositionWriter, versions: readonly VersionExposition[]) {
  out.family('hotplane_requests_total', 'counter', 'Invocations answered, by outcome: ok 200, app 422, fault 500, crashed 502, timeout 504.');
  for (const m of versions) for (const outcome of OUTCOMES) out.sample('hotplane_requests_total', `${m.labels},outcome="${outcome}"`, m.totals[outcome]);

  const latency = 'hotplane_request_latency_microseconds';
  out.family(latency, 'summary', 'Invocation latency in microseconds: quantiles over the last closed second (NaN if it had no requests), sum and count since start.');
  for (const m of versions) {
    const last = m.last && m.last.requests > 0 ? m.last : null;
    for (const [quantile, field] of QUANTILES) out.sample(latency, `${m.labels},quantile="${quantile}"`, last ? last[field] : NaN);
    out.sample(`${latency}_sum`, m.labels, m.totals.latencySumUs);
    out.sample(`${latency}_count`, m.labels, m.totals.requests);
  }

  out.family('hotplane_hangs_total', 'counter', "Times a call ran so far past the version's normal latency that new calls went to other versions.");
  for (const m of versions) out.sample('hotplane_hangs_total', m.labels, m.totals.hangs);
}

// A version can have two instances for a moment (one leaving, one arriving): one series per version.
export function writeInflightFamily(out: ExpositionWriter, counts: Iterable<InflightCount>) {
  const byVersion = new Map<string, { labels: string; inFlight: number }>();
  for (const { module, version, inFlight } of counts) {
    const key = `${module}\u0000${version}`;
    const entry = byVersion.get(key);
    if (entry) entry.inFlight += inFlight;
    else byVersion.set(key, { labels: labelSet({ module, version }), inFlight });
  }
  out.family('hotplane_inflight', 'gauge', 'Invocations in progress.');
  for (const { labels, inFlight } of byVersion.values()) out.sample('hotplane_inflight', labels, inFlight);
}

/** One process's figures (or, with workers, the host's: CPU and memory summed, the event loop's worst). */
export interface ProcessFigures {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
  heapUsedBytes: number;
  externalBytes: number;
  loop: EventLoopSecond | null;
}

export function processFigures(loop: EventLoopSecond | null): ProcessFigures {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    residentBytes: memory.rss,
    startTimeSeconds: Math.round(performance.timeOrigin / 1000),
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    loop,
  };
}

// In-process modules run on the event loop, so its delay and utilization are the host's first health signal.
export function writeProcessFamilies(out: ExpositionWriter, figures: ProcessFigures) {
  out.single('process_cpu_user_seconds_total', 'counter', 'User CPU time spent.', figures.cpuUserSeconds);
  out.single('process_cpu_system_seconds_total', 'counter', 'System CPU time spent.', figures.cpuSystemSeconds);
  out.single('process_resident_memory_bytes', 'gauge', 'Resident set size.', figures.residentBytes);
  out.single('process_start_time_seconds', 'gauge', 'Process start, Unix seconds.', figures.startTimeSeconds);
  out.single('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', figures.heapUsedBytes);
  out.single('nodejs_external_memory_bytes', 'gauge', 'Memory outside the V8 heap held by JS objects (buffers).', figures.externalBytes);
  const loop = figures.loop;
  if (!loop) return;
  out.single('nodejs_eventloop_lag_p99_seconds', 'gauge', 'Event loop delay, 99th percentile over the last second.', loop.delayP99Seconds);
  out.single('nodejs_eventloop_lag_max_seconds', 'gauge', 'Event loop delay, maximum over the last second.', loop.delayMaxSeconds);
  out.single('nodejs_eventloop_utilization_ratio', 'gauge', 'Share of the last second the event loop was busy.', loop.utilization);
}
