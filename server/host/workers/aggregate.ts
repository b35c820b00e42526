import type { MetricSample, VersionStatus } from '../../protocol';
import { LATENCY_GRID, OUTCOMES, writeInflightFamily, writeProcessFamilies, writeVersionFamilies, type GriddedSample, type ProcessFigures, type VersionTotals } from '../metrics';
import { ExpositionWriter, labelSet } from '../prometheus';
import type { VersionSnapshot, WorkerSnapshot } from './ipc';

// One metrics view of a host with workers: counters summed, latency histograms merged, from each worker's latest
// snapshot (and the totals of workers that died, so a counter never goes back).

const key = (module: string, version: string) => `${module}\u0000${version}`;

/**
 * The value at `percent` of the distribution made of every part: each part's latency is known at LATENCY_GRID
 * (plus its max), so the merged rank is exact at those points and the answer is off by at most the grid's step.
 */
export function mergedPercentile(parts: readonly { count: number; grid: readonly number[]; max: number }[], percent: number): number {
  const total = parts.reduce((sum, p) => sum + p.count, 0);
  if (total === 0) return 0;
  const candidates = [...new Set(parts.flatMap((p) => [...p.grid, p.max]))].sort((a, b) => a - b);
  const share = (part: (typeof parts)[number], value: number) => {
    if (value >= part.max) return 1;
    let below = 0;
    for (let i = 0; i < part.grid.length && part.grid[i] <= value; i++) below = LATENCY_GRID[i] / 100;
    return below;
  };
  for (const value of candidates) {
    const atOrBelow = parts.reduce((sum, p) => sum + p.count * share(p, value), 0);
    if (atOrBelow >= (percent / 100) * total - 1e-9) return value;
  }
  return candidates[candidates.length - 1];
}

/** One sample of the host from the workers' samples of the same version and second. */
export function mergeSamples(parts: readonly GriddedSample[]): MetricSample {
  if (parts.length === 1) return parts[0].sample;
  const first = parts[0].sample;
  const sum = (field: 'requests' | 'ok' | 'app4xx' | 'errors5xx' | 'timeouts' | 'crashes') => parts.reduce((n, p) => n + p.sample[field], 0);
  const sketch = parts.map((p) => ({ count: p.sample.requests, grid: p.grid, max: p.sample.max }));
  return {
    module: first.module,
    version: first.version,
    second: first.second,
    requests: sum('requests'),
    ok: sum('ok'),
    app4xx: sum('app4xx'),
    errors5xx: sum('errors5xx'),
    timeouts: sum('timeouts'),
    crashes: sum('crashes'),
    p50: mergedPercentile(sketch, 50),
    p95: mergedPercentile(sketch, 95),
    p99: mergedPercentile(sketch, 99),
    max: Math.max(...parts.map((p) => p.sample.max)),
  };
}

/** Groups samples by version and second, merging the workers' samples of each. */
export function mergeSampleList(samples: readonly GriddedSample[]): MetricSample[] {
  const groups = new Map<string, GriddedSample[]>();
  for (const s of samples) {
    const k = `${key(s.sample.module, s.sample.version)}\u0000${s.sample.second}`;
    const group = groups.get(k);
    if (group) group.push(s);
    else groups.set(k, [s]);
  }
  return [...groups.values()].map(mergeSamples);
}

const emptyTotals = (): VersionTotals => ({ requests: 0, latencySumUs: 0, ok: 0, app: 0, fault: 0, crashed: 0, timeout: 0, hangs: 0 });

function addTotals(into: VersionTotals, from: VersionTotals) {
  into.requests += from.requests;
  into.latencySumUs += from.latencySumUs;
  into.hangs += from.hangs;
  for (const outcome of OUTCOMES) into[outcome] += from[outcome];
}

// A version whose instance failed or crashed on any worker is reported so: the console acts on the worst news.
function severity(status: VersionStatus): number {
  if (status.phase === 'crashed' || status.phase === 'failed') return 3;
  if (!status.healthy) return 2;
  return status.phase === 'serving' ? 0 : 1;
}

/** One status per version instance kind across workers: the worst worker's, with in-flight calls summed. */
export function mergeStatuses(perWorker: readonly VersionStatus[][]): VersionStatus[] {
  const merged = new Map<string, VersionStatus>();
  for (const statuses of perWorker) {
    for (const status of statuses) {
      const k = `${key(status.module, status.version)}\u0000${status.sm3}\u0000${status.phase === 'draining' ? 'leaving' : 'current'}`;
      const seen = merged.get(k);
      if (!seen) merged.set(k, { ...status });
      else merged.set(k, { ...(severity(status) > severity(seen) ? status : seen), inFlight: seen.inFlight + status.inFlight });
    }
  }
  return [...merged.values()];
}

export class MetricsAggregate {
  private readonly latest = new Map<number, WorkerSnapshot>();
  /** Totals of workers that are gone, so the host's counters keep counting across a worker's restart. */
  private readonly departed = new Map<string, VersionTotals>();
  private departedCpu = { user: 0, system: 0 };

  update(pid: number, snapshot: WorkerSnapshot) {
    this.latest.set(pid, snapshot);
  }

  /** A worker exited: its last totals stay in the host's counters. */
  retire(pid: number) {
    const last = this.latest.get(pid);
    this.latest.delete(pid);
    if (!last) return;
    for (const v of last.versions) {
      const k = key(v.module, v.version);
      const into = this.departed.get(k) ?? emptyTotals();
      addTotals(into, v.totals);
      this.departed.set(k, into);
    }
    this.departedCpu.user += last.process.cpuUserSeconds;
    this.departedCpu.system += last.process.cpuSystemSeconds;
  }

  snapshots(): [number, WorkerSnapshot][] {
    return [...this.latest];
  }

  /** The host's /metrics: every version's counters summed over workers, its last second's quantiles merged. */
  prometheus(primary: ProcessFigures): string {
    const versions = new Map<string, { module: string; version: string; totals: VersionTotals; lasts: GriddedSample[] }>();
    const entry = (module: string, version: string) => {
      const k = key(module, version);
      let found = versions.get(k);
      if (!found) versions.set(k, (found = { module, version, totals: emptyTotals(), lasts: [] }));
      return found;
    };
    for (const [k, totals] of this.departed) {
      const [module, version] = k.split('\u0000');
      addTotals(entry(module, version).totals, totals);
    }
    for (const snapshot of this.latest.values()) {
      for (const v of snapshot.versions as VersionSnapshot[]) {
        const found = entry(v.module, v.version);
        addTotals(found.totals, v.totals);
        if (v.last) found.lasts.push(v.last);
      }
    }
    // Only the latest closed second is one second: a worker whose last busy second is older does not blend in.
    const out = new ExpositionWriter();
    writeVersionFamilies(
      out,
      [...versions.values()].map((v) => {
        const newest = v.lasts.reduce((s, l) => (l.sample.second > s ? l.sample.second : s), '');
        return { labels: labelSet({ module: v.module, version: v.version }), totals: v.totals, last: v.lasts.length ? mergeSamples(v.lasts.filter((l) => l.sample.second === newest)) : null };
      }),
    );
    writeInflightFamily(out, [...this.latest.values()].flatMap((s) => s.statuses));
    writeProcessFamilies(out, this.hostProcess(primary));
    out.family('hotplane_worker_requests_total', 'counter', 'Invocations answered by each live worker process since it started (its pid).');
    for (const [pid, snapshot] of this.latest) {
      out.sample('hotplane_worker_requests_total', labelSet({ pid: String(pid) }), snapshot.versions.reduce((n, v) => n + v.totals.requests, 0));
    }
    return out.toString();
  }

  // CPU and memory of the primary and every worker summed (the host's cost); the worst event loop of the workers.
  private hostProcess(primary: ProcessFigures): ProcessFigures {
    const all = [...this.latest.values()].map((s) => s.process);
    const worstLoop = all.reduce<ProcessFigures['loop']>((worst, p) => (p.loop && (!worst || p.loop.delayP99Seconds > worst.delayP99Seconds) ? p.loop : worst), null);
    return {
      cpuUserSeconds: primary.cpuUserSeconds + this.departedCpu.user + all.reduce((n, p) => n + p.cpuUserSeconds, 0),
      cpuSystemSeconds: primary.cpuSystemSeconds + this.departedCpu.system + all.reduce((n, p) => n + p.cpuSystemSeconds, 0),
      residentBytes: primary.residentBytes + all.reduce((n, p) => n + p.residentBytes, 0),
      startTimeSeconds: primary.startTimeSeconds,
      heapUsedBytes: primary.heapUsedBytes + all.reduce((n, p) => n + p.heapUsedBytes, 0),
      externalBytes: primary.externalBytes + all.reduce((n, p) => n + p.externalBytes, 0),
      loop: worstLoop,
    };
  }
}
