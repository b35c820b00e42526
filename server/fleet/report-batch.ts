import { dialectOfDb, type Db } from '../db/client';
import { currentGeneration } from './desired-state';
import { versionKey } from './desired-history';
import type { FleetMetrics } from './metrics-store';

// The common report (statuses and metrics, no events) is acknowledged once validated; its facts are written with
// every other host's since, in one transaction per replica every FLUSH_EVERY_MS (docs/fleet.md#report-intake). What
// the rollout engine reads of them (lastSeenAt, appliedGeneration, lastReport) is at most that much later, never
// older than what is stored: a row is only written forward in time, so a replica's late batch cannot undo a newer
// report another replica (or a report with events, written at once) stored meanwhile; a revoked host's row is not
// written at all.

export const FLUSH_EVERY_MS = 200;
/** How long the versions a host may report on are reused without a read (a newer generation reads at once). */
const REPORTABLE_FRESH_MS = 1_000;

export interface HostFacts {
  lastSeenAt: Date;
  appliedGeneration: number;
  processStartedAt: string;
  lastReport: string;
}

export interface BatchFigures {
  batches: number;
  hosts: number;
  writeMs: number;
}

export class ReportBatch {
  private pending = new Map<string, HostFacts>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<number> | null = null;
  readonly figures: BatchFigures = { batches: 0, hosts: 0, writeMs: 0 };

  constructor(
    private readonly db: Db,
    private readonly metrics: FleetMetrics | null,
    private readonly everyMs = FLUSH_EVERY_MS,
    private readonly log: (line: string) => void = (line) => console.error(`hotplane report batch: ${line}`),
  ) {}

  /** Keeps the host's newest facts for the next write. */
  add(hostId: string, facts: HostFacts) {
    this.pending.set(hostId, facts);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush().catch((error: Error) => this.log(`writing ${this.pending.size} hosts' reports: ${error.message}`));
    }, this.everyMs).unref();
  }

  /** When the host's last report not yet written was received (ms), if there is one. */
  pendingSeenAt(hostId: string): number | undefined {
    return this.pending.get(hostId)?.lastSeenAt.getTime();
  }

  /** The host's facts were written another way (a report with events): the older pending ones are dropped. */
  drop(hostId: string) {
    this.pending.delete(hostId);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes every host reported since the last write in one transaction; returns how many rows it tried. */
  async flush(): Promise<number> {
    await this.flushing;
    const taken = this.pending;
    this.pending = new Map();
    const run = (async () => {
      if (taken.size > 0) {
        const started = performance.now();
        try {
          await writeHostFacts(this.db, taken);
        } catch (error) {
          // Kept for the next write unless a newer report of the host came meanwhile.
          for (const [id, facts] of taken) if (!this.pending.has(id)) this.pending.set(id, facts);
          throw error;
        }
        this.figures.batches += 1;
        this.figures.hosts += taken.size;
        this.figures.writeMs += performance.now() - started;
      }
      // Closed metric windows are written here too, not per report (each call walks every open window).
      if (this.metrics) await this.metrics.flushRollups(this.db);
      return taken.size;
    })();
    this.flushing = run.finally(() => (this.flushing = null)).catch(() => 0);
    return run;
  }

  /** Writes what is pending and stops the timer (a replica stopping). */
  async stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}

// PostgreSQL: one statement for the whole batch (the rows as one JSON parameter). SQLite, one console on one
// machine: one update per host, in one transaction.
async function writeHostFacts(db: Db, taken: ReadonlyMap<string, HostFacts>) {
  if (dialectOfDb(db) === 'postgresql') {
    // TIMESTAMP(3) columns hold UTC wall-clock time, as Prisma writes them.
    const rows = [...taken].map(([id, f]) => ({ id, seen: f.lastSeenAt.toISOString().slice(0, -1), generation: f.appliedGeneration, started: f.processStartedAt, report: f.lastReport }));
    await db.$executeRawUnsafe(
      `UPDATE "Host" AS h SET "lastSeenAt" = v.seen, "appliedGeneration" = v.generation, "processStartedAt" = v.started, "lastReport" = v.report
       FROM json_to_recordset($1::json) AS v(id text, seen timestamp(3), generation integer, started text, report text)
       WHERE h."id" = v.id AND h."revokedAt" IS NULL AND (h."lastSeenAt" IS NULL OR h."lastSeenAt" < v.seen)`,
      JSON.stringify(rows),
    );
    return;
  }
  await db.$transaction(async (tx) => {
    for (const [id, facts] of taken) {
      await tx.host.updateMany({ where: { id, revokedAt: null, OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: facts.lastSeenAt } }] }, data: facts });
    }
  });
}

interface Reportable {
  generation: number;
  readAt: number;
  desired: Set<string>;
  retired: { key: string; retiredAt: number }[];
}

/**
 * What a host may report on (server/fleet/desired-history.ts reportableVersions), read at most once per
 * REPORTABLE_FRESH_MS and at once when a report names a generation newer than the one read: a version the fleet
 * was just told to run is never refused for a stale read. The retired grace is applied per report, to its time.
 */
export class ReportableVersions {
  private cached: Reportable | null = null;
  private reading: Promise<Reportable> | null = null;
  /** Database reads done, for the tests and docs/fleet.md. */
  reads = 0;

  constructor(private readonly db: Db) {}

  async at(now: Date, graceSeconds: number, reportedGeneration: number): Promise<{ generation: number; reportable: Set<string> }> {
    let entry = this.cached;
    if (!entry || entry.generation < reportedGeneration || now.getTime() - entry.readAt >= REPORTABLE_FRESH_MS || now.getTime() < entry.readAt) {
      entry = await this.read(now, graceSeconds);
    }
    const since = now.getTime() - graceSeconds * 1000;
    const reportable = new Set(entry.desired);
    for (const r of entry.retired) if (r.retiredAt >= since) reportable.add(r.key);
    return { generation: entry.generation, reportable };
  }

  /** The desired state changed here: the next report reads it again. */
  forget() {
    this.cached = null;
  }

  private read(now: Date, graceSeconds: number): Promise<Reportable> {
    this.reading ??= (async () => {
      this.reads += 1;
      const readAt = Date.now();
      const entry = await this.db.$transaction(async (tx) => {
        const [generation, fleet, zones, retired] = await Promise.all([
          currentGeneration(tx),
          tx.desiredModule.findMany({ select: { module: true, versions: true } }),
          tx.desiredZoneModule.findMany({ select: { module: true, versions: true } }),
          // Read with a grace margin of one freshness period, so every report until the next read is judged exactly.
          tx.retiredDesiredVersion.findMany({ where: { retiredAt: { gte: new Date(now.getTime() - graceSeconds * 1000 - REPORTABLE_FRESH_MS) } }, select: { module: true, version: true, retiredAt: true } }),
        ]);
        const desired = new Set<string>();
        for (const row of [...fleet, ...zones]) for (const v of JSON.parse(row.versions) as { version: string }[]) desired.add(versionKey(row.module, v.version));
        return { generation, readAt, desired, retired: retired.map((r) => ({ key: versionKey(r.module, r.version), retiredAt: r.retiredAt.getTime() })) };
      });
      this.cached = entry;
      return entry;
    })().finally(() => (this.reading = null));
    return this.reading;
  }
}

// One batch per metrics store and database (one per console process), one cache per database.
const batches = new Map<FleetMetrics, Map<Db, ReportBatch>>();
const reportables = new Map<Db, ReportableVersions>();

/** This process's report batch and reportable-versions cache over `db`. */
export function reportIntakeOf(db: Db, metrics: FleetMetrics): { batch: ReportBatch; reportable: ReportableVersions } {
  const byDb = batches.get(metrics) ?? new Map<Db, ReportBatch>();
  batches.set(metrics, byDb);
  let batch = byDb.get(db);
  if (!batch) byDb.set(db, (batch = new ReportBatch(db, metrics)));
  let reportable = reportables.get(db);
  if (!reportable) reportables.set(db, (reportable = new ReportableVersions(db)));
  return { batch, reportable };
}

/** Writes every batch of this process now (a replica stopping, a test that reads the rows next). */
export async function flushReportBatches() {
  await Promise.all([...batches.values()].flatMap((byDb) => [...byDb.values()].map((batch) => batch.flush())));
}
