import type { Db } from '../db/client';
import { METRIC_FIELDS, type MetricTotals } from '../fleet/metric-math';
import type { FleetMetrics } from '../fleet/metrics-store';
import type { ClusterBus } from './bus';

// Per-second metrics shared between replicas: a host reports to whichever replica it reaches, the leader's analysis
// reads every host's seconds. Each replica writes the seconds it received once a second, in one multi-row insert,
// and announces it on the bus; every replica reads the rows of the others into its own memory (FleetMetrics.absorb),
// so the analysis and the charts keep reading FleetMetrics as before. Rows are read again for a few seconds after
// they were stored (a slow transaction may commit after a later one); absorbing a second twice changes nothing.

export const SHARE_EVERY_MS = 1_000;
const REREAD_MS = 5_000;
const KEEP_MS = 3_600_000;
const PRUNE_EVERY_MS = 60_000;

export interface MetricsShareOptions {
  db: Db;
  metrics: FleetMetrics;
  replica: string;
  bus?: ClusterBus;
  log?: (line: string) => void;
}

export interface ShareFigures {
  batches: number;
  rows: number;
  writeMs: number;
}

export class MetricsShare {
  private timers: NodeJS.Timeout[] = [];
  private readSince = 0;
  private reading: Promise<void> | null = null;
  private writing: Promise<unknown> | null = null;
  private unsubscribe: (() => void) | undefined;
  private readonly revoked = new Set<string>();
  /** What the writes cost, for docs/fleet.md. */
  readonly figures: ShareFigures = { batches: 0, rows: 0, writeMs: 0 };

  constructor(private readonly options: MetricsShareOptions) {
    options.metrics.shareSeconds();
  }

  start() {
    const log = this.options.log ?? ((line: string) => console.error(`hotplane metrics share: ${line}`));
    this.readSince = Date.now() - REREAD_MS;
    this.timers = [
      setInterval(() => void this.write().catch((error: Error) => log(`writing: ${error.message}`)), SHARE_EVERY_MS),
      setInterval(() => void this.read().catch((error: Error) => log(`reading: ${error.message}`)), SHARE_EVERY_MS),
      setInterval(() => void this.prune().catch((error: Error) => log(`pruning: ${error.message}`)), PRUNE_EVERY_MS),
    ];
    for (const timer of this.timers) timer.unref();
    this.unsubscribe = this.options.bus?.subscribe('metrics_arrived', (event) => {
      if (event.origin !== this.options.replica) void this.read().catch((error: Error) => log(`reading: ${error.message}`));
    });
    return this;
  }

  async stop() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unsubscribe?.();
    await Promise.all([this.writing, this.reading]);
  }

  /** Writes the seconds received since the last call as one insert; returns how many. */
  write(): Promise<number> {
    const run = (async () => {
      const taken = this.options.metrics.takeSharedSeconds();
      if (taken.length === 0) return 0;
      const storedAt = new Date();
      const started = performance.now();
      await this.options.db.metricSecond.createMany({
        data: taken.map(({ hostId, sample }) => ({
          origin: this.options.replica,
          storedAt,
          hostId,
          module: sample.module,
          version: sample.version,
          second: Math.floor(Date.parse(sample.second) / 1000),
          ...(Object.fromEntries(METRIC_FIELDS.map((f) => [f, Math.round(sample[f])])) as MetricTotals),
        })),
      });
      this.figures.batches += 1;
      this.figures.rows += taken.length;
      this.figures.writeMs += performance.now() - started;
      await this.options.bus?.announce('metrics_arrived', { rows: taken.length });
      return taken.length;
    })();
    this.writing = run.finally(() => (this.writing = null));
    return run;
  }

  /** Reads the other replicas' recent seconds into this replica's memory; overlapping calls share one read. */
  read(): Promise<void> {
    this.reading ??= (async () => {
      const now = Date.now();
      const rows = await this.options.db.metricSecond.findMany({
        where: { storedAt: { gte: new Date(this.readSince) }, origin: { not: this.options.replica } },
        orderBy: { id: 'asc' },
      });
      this.readSince = now - REREAD_MS;
      const byHost = new Map<string, { module: string; version: string; second: number; totals: MetricTotals }[]>();
      for (const row of rows) {
        const totals = Object.fromEntries(METRIC_FIELDS.map((f) => [f, row[f]])) as MetricTotals;
        const list = byHost.get(row.hostId) ?? [];
        list.push({ module: row.module, version: row.version, second: row.second, totals });
        byHost.set(row.hostId, list);
      }
      for (const [hostId, seconds] of byHost) if (!this.revoked.has(hostId)) this.options.metrics.absorb(hostId, seconds, now);
    })().finally(() => (this.reading = null));
    return this.reading;
  }

  /** A host revoked on any replica: its seconds leave this replica's memory and the shared table. */
  async forgetHost(hostId: string) {
    this.revoked.add(hostId);
    this.options.metrics.forgetHost(hostId);
    await this.options.db.metricSecond.deleteMany({ where: { hostId } });
  }

  async prune() {
    await this.options.db.metricSecond.deleteMany({ where: { storedAt: { lt: new Date(Date.now() - KEEP_MS) } } });
  }
}
