import type { Db } from '../db/client';
import type { MetricSample } from '../protocol';
import { versionKey } from './desired-history';
import { EMPTY_TOTALS, METRIC_FIELDS, combineTotals, totalsOf, type MetricTotals } from './metric-math';

// Metrics as hosts push them: the last hour per (host, module, version) at 1 s resolution in memory for the
// live charts, and 10-second rollups written to MetricRollup once a window has closed (late seconds merge
// into the stored row), which is what remains after a console restart.

export const RING_SECONDS = 3_600;

/**
 * Live charts leave out seconds this close to now: the current one is still being counted and hosts report about
 * once a second, so the one before may lack a host's batch. A second that arrives later still is noted as late, so
 * a chart that drew it already redraws it (server/fleet/metrics-stream.ts).
 */
export const SETTLE_SECONDS = 2;

/** Late seconds kept per module, newest last: far more than a stream falls behind between two ticks. */
const LATE_SECONDS_KEPT = 1_000;
export const ROLLUP_SECONDS = 10;
// A window is written this long after it ends, so the usual one-second report lag lands before the write.
const ROLLUP_GRACE_SECONDS = 5;
const ROLLUP_RETENTION_SECONDS = 7 * 86_400;
const FIELD_COUNT = METRIC_FIELDS.length;

class SecondRing {
  private readonly stamps = new Float64Array(RING_SECONDS).fill(-1);
  private readonly values = new Float64Array(RING_SECONDS * FIELD_COUNT);
  newest = -1;

  put(second: number, totals: MetricTotals) {
    const slot = second % RING_SECONDS;
    this.stamps[slot] = second;
    METRIC_FIELDS.forEach((field, i) => (this.values[slot * FIELD_COUNT + i] = totals[field]));
    this.newest = Math.max(this.newest, second);
  }

  get(second: number): MetricTotals | null {
    const slot = second % RING_SECONDS;
    if (this.stamps[slot] !== second) return null;
    const totals = { ...EMPTY_TOTALS };
    METRIC_FIELDS.forEach((field, i) => (totals[field] = this.values[slot * FIELD_COUNT + i]));
    return totals;
  }
}

interface SeriesKey {
  hostId: string;
  module: string;
  version: string;
}

interface OpenRollup extends SeriesKey {
  start: number;
  seconds: number;
  totals: MetricTotals;
}

export interface VersionSeconds {
  version: string;
  /** Combined over every host, oldest first. */
  seconds: { second: number; totals: MetricTotals }[];
}

const keyOf = (...parts: (string | number)[]) => parts.join('\u0000');
const epochSecond = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export class FleetMetrics {
  /** Seconds from here on are in memory; earlier ones only in the rollups. */
  readonly memorySince: number;
  private readonly series = new Map<string, SeriesKey & { ring: SecondRing }>();
  private readonly open = new Map<string, OpenRollup>();
  /** Seconds received here and not yet written for the other replicas (null: this process shares nothing). */
  private outbox: { hostId: string; sample: MetricSample }[] | null = null;
  /** Seconds that arrived after they had settled (a live chart may have drawn them without these), by module. */
  private readonly late = new Map<string, { seq: number; second: number }[]>();
  private lateCount = 0;

  constructor(now = Date.now()) {
    this.memorySince = Math.floor(now / 1000);
  }

  record(hostId: string, samples: readonly MetricSample[], now = Date.now()) {
    const nowSecond = Math.floor(now / 1000);
    for (const sample of samples) {
      const second = epochSecond(sample.second);
      if (second < nowSecond - ROLLUP_RETENTION_SECONDS || second > nowSecond + 60) continue;
      const totals = totalsOf(sample);
      this.putSecond(hostId, sample, second, totals, nowSecond);
      if (second > nowSecond - RING_SECONDS) this.outbox?.push({ hostId, sample });
      const seriesKey = keyOf(hostId, sample.module, sample.version);
      const start = second - (second % ROLLUP_SECONDS);
      const rollupKey = keyOf(seriesKey, start);
      const rollup = this.open.get(rollupKey);
      if (rollup) {
        rollup.totals = combineTotals(rollup.totals, totals);
        rollup.seconds += 1;
      } else {
        this.open.set(rollupKey, { hostId, module: sample.module, version: sample.version, start, seconds: 1, totals });
      }
    }
    this.forgetQuietSeries(nowSecond);
  }

  private putSecond(hostId: string, key: Omit<SeriesKey, 'hostId'>, second: number, totals: MetricTotals, nowSecond: number) {
    if (second <= nowSecond - RING_SECONDS) return;
    const seriesKey = keyOf(hostId, key.module, key.version);
    let entry = this.series.get(seriesKey);
    if (!entry) {
      entry = { hostId, module: key.module, version: key.version, ring: new SecondRing() };
      this.series.set(seriesKey, entry);
    }
    entry.ring.put(second, totals);
    if (second <= nowSecond - SETTLE_SECONDS) this.noteLate(key.module, second);
  }

  private noteLate(module: string, second: number) {
    let log = this.late.get(module);
    if (!log) this.late.set(module, (log = []));
    log.push({ seq: ++this.lateCount, second });
    if (log.length > LATE_SECONDS_KEPT) log.splice(0, log.length - LATE_SECONDS_KEPT);
  }

  /** How many late seconds were noted so far: a stream's mark for lateSecondsAfter. */
  get lateMark(): number {
    return this.lateCount;
  }

  /** The seconds of `module` that arrived late after `mark`, each once, oldest first. */
  lateSecondsAfter(module: string, mark: number): number[] {
    const seconds = new Set<number>();
    for (const entry of this.late.get(module) ?? []) if (entry.seq > mark) seconds.add(entry.second);
    return [...seconds].sort((a, b) => a - b);
  }

  /** From now on, seconds recorded here are also kept for takeSharedSeconds (server/cluster/metrics-share.ts). */
  shareSeconds() {
    this.outbox ??= [];
  }

  takeSharedSeconds(): { hostId: string; sample: MetricSample }[] {
    const taken = this.outbox ?? [];
    if (this.outbox) this.outbox = [];
    return taken;
  }

  /**
   * Seconds another replica received, for the live charts and the analysis only: that replica writes their
   * rollups. Taking the same second twice changes nothing.
   */
  absorb(hostId: string, seconds: readonly { module: string; version: string; second: number; totals: MetricTotals }[], now = Date.now()) {
    const nowSecond = Math.floor(now / 1000);
    for (const s of seconds) this.putSecond(hostId, s, s.second, s.totals, nowSecond);
  }

  private forgetQuietSeries(nowSecond: number) {
    for (const [key, entry] of this.series) if (entry.ring.newest <= nowSecond - RING_SECONDS) this.series.delete(key);
  }

  /** The module versions this host has series of in memory (`module\0version`), for the per-host series cap. */
  seriesOf(hostId: string): Set<string> {
    const keys = new Set<string>();
    for (const entry of this.series.values()) if (entry.hostId === hostId) keys.add(versionKey(entry.module, entry.version));
    return keys;
  }

  /** Drops a revoked host's seconds: charts, evidence and analysis no longer see what it said. */
  forgetHost(hostId: string) {
    if (this.outbox) this.outbox = this.outbox.filter((s) => s.hostId !== hostId);
    for (const [key, entry] of this.series) if (entry.hostId === hostId) this.series.delete(key);
    for (const [key, rollup] of this.open) if (rollup.hostId === hostId) this.open.delete(key);
  }

  takeClosedRollups(now = Date.now()): OpenRollup[] {
    const nowSecond = Math.floor(now / 1000);
    const closed: OpenRollup[] = [];
    for (const [key, rollup] of this.open) {
      if (rollup.start + ROLLUP_SECONDS + ROLLUP_GRACE_SECONDS <= nowSecond) {
        closed.push(rollup);
        this.open.delete(key);
      }
    }
    return closed;
  }

  /** Writes every closed window; a window already stored (late seconds) is merged, not replaced. */
  async flushRollups(db: Db, now = Date.now()): Promise<number> {
    const closed = this.takeClosedRollups(now);
    if (closed.length === 0) return 0;
    await db.$transaction(async (tx) => {
      for (const rollup of closed) {
        const id = { hostId: rollup.hostId, module: rollup.module, version: rollup.version, start: new Date(rollup.start * 1000) };
        const stored = await tx.metricRollup.findUnique({ where: { hostId_module_version_start: id } });
        const totals = stored ? combineTotals(stored, rollup.totals) : rollup.totals;
        const seconds = (stored?.seconds ?? 0) + rollup.seconds;
        const data = { seconds, ...Object.fromEntries(METRIC_FIELDS.map((f) => [f, Math.round(totals[f])])) } as MetricTotals & { seconds: number };
        await tx.metricRollup.upsert({ where: { hostId_module_version_start: id }, create: { ...id, ...data }, update: data });
      }
    });
    return closed.length;
  }

  async pruneRollups(db: Db, now = Date.now()) {
    await db.metricRollup.deleteMany({ where: { start: { lt: new Date(now - ROLLUP_RETENTION_SECONDS * 1000) } } });
  }

  /** One module's seconds in [from, to], each version's samples combined over hosts. */
  moduleSeconds(module: string, from: number, to: number): VersionSeconds[] {
    return this.combine(module, from, to, () => true);
  }

  /** One module's seconds in [from, to] for each of `hostIds` on its own (canaries are judged per host). */
  moduleSecondsByHost(module: string, from: number, to: number, hostIds: readonly string[]): Map<string, VersionSeconds[]> {
    return new Map(hostIds.map((hostId) => [hostId, this.combine(module, from, to, (entry) => entry.hostId === hostId)]));
  }

  private combine(module: string, from: number, to: number, include: (entry: SeriesKey) => boolean): VersionSeconds[] {
    const byVersion = new Map<string, Map<number, MetricTotals>>();
    for (const entry of this.series.values()) {
      if (entry.module !== module || !include(entry)) continue;
      let seconds = byVersion.get(entry.version);
      if (!seconds) byVersion.set(entry.version, (seconds = new Map()));
      for (let second = Math.max(from, entry.ring.newest - RING_SECONDS + 1); second <= Math.min(to, entry.ring.newest); second++) {
        const totals = entry.ring.get(second);
        if (!totals) continue;
        const before = seconds.get(second);
        seconds.set(second, before ? combineTotals(before, totals) : totals);
      }
    }
    return [...byVersion]
      .map(([version, seconds]) => ({
        version,
        seconds: [...seconds].sort(([a], [b]) => a - b).map(([second, totals]) => ({ second, totals })),
      }))
      .filter((v) => v.seconds.length > 0)
      .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
  }

  /** Sum over the last `window` complete seconds, per version of the module (over every host). */
  recentTotals(module: string, window: number, now = Date.now()): Map<string, MetricTotals> {
    const last = Math.floor(now / 1000) - 1;
    const result = new Map<string, MetricTotals>();
    for (const { version, seconds } of this.moduleSeconds(module, last - window + 1, last)) {
      result.set(version, seconds.reduce((sum, s) => combineTotals(sum, s.totals), { ...EMPTY_TOTALS }));
    }
    return result;
  }
}

const holder = globalThis as unknown as { hotplaneFleetMetrics?: FleetMetrics };

// One store per console process: route handlers, tRPC and instrumentation are bundled apart but share globalThis.
export function fleetMetrics(): FleetMetrics {
  holder.hotplaneFleetMetrics ??= new FleetMetrics();
  return holder.hotplaneFleetMetrics;
}
