import type { ReportBoundsConfig } from '../config';
import { DomainError, DomainErrorCode } from '../errors';
import type { HostReport, MetricSample } from '../protocol';
import { moduleKey, versionKey } from './desired-history';

// A host's report is untrusted input: whoever holds a host token can write anything into it. What the console keeps
// of it is bounded here (docs/fleet.md#report-bounds): only versions the fleet was told to run, timestamps inside
// the span the report can honestly cover, counts a host can really serve, and a fixed number of series.

/** A report refused whole; `status` is 413 or 422 and the message names the cap and the setting behind it. */
export class ReportRefusal extends DomainError {
  constructor(
    readonly status: 413 | 422,
    message: string,
  ) {
    super(status === 413 ? DomainErrorCode.PayloadTooLarge : DomainErrorCode.InvalidInput, message);
  }
}

export interface ReportBoundsContext {
  /** When the console received the report (ms). */
  receivedAt: number;
  /** The host's previous accepted report, or its registration when it has none (ms). */
  previousReportAt: number;
  /** versionKey()s of what the host may report on now (server/fleet/desired-history.ts). */
  reportable: ReadonlySet<string>;
  /** versionKey()s of the series the console already keeps for this host. */
  hostSeries: ReadonlySet<string>;
}

export interface BoundedReport {
  report: HostReport;
  /** "module version" of every item left out because the fleet was not told to run it. */
  ignored: string[];
  /** How many timestamps were moved into [previous report − skew, received + skew]. */
  clamped: number;
}

function clampTime(iso: string, lower: number, upper: number): { iso: string; moved: boolean } {
  const time = Date.parse(iso);
  if (time >= lower && time <= upper) return { iso, moved: false };
  return { iso: new Date(Math.min(upper, Math.max(lower, time))).toISOString(), moved: true };
}

function seriesCap(report: HostReport, bounds: ReportBoundsConfig) {
  const series = new Set<string>();
  for (const s of report.metrics) series.add(versionKey(s.module, s.version));
  for (const v of report.versions) series.add(versionKey(v.module, v.version));
  if (series.size > bounds.maxSeriesPerReport) {
    throw new ReportRefusal(
      422,
      `the report names ${series.size} module versions; a report may name at most ${bounds.maxSeriesPerReport} (HOTPLANE_REPORT_MAX_SERIES): nothing of it was kept`,
    );
  }
}

// A sample whose parts do not add up to its total, or that claims more than a host can serve, is not a measurement.
function checkCounts(samples: readonly MetricSample[], bounds: ReportBoundsConfig) {
  const perSecond = new Map<number, number>();
  for (const s of samples) {
    const parts = s.ok + s.app4xx + s.errors5xx + s.timeouts;
    if (parts !== s.requests || s.crashes > s.errors5xx) {
      throw new ReportRefusal(
        422,
        `the sample of ${s.module} ${s.version} at ${s.second} does not add up: ok + app4xx + errors5xx + timeouts = ${parts}, requests = ${s.requests}, crashes ${s.crashes} of ${s.errors5xx} errors5xx: nothing of the report was kept`,
      );
    }
    // By the epoch second, not the text: "…Z" and "…+00:00" name the same second.
    const second = Math.floor(Date.parse(s.second) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + s.requests);
  }
  for (const [second, requests] of perSecond) {
    if (requests > bounds.maxRequestsPerSecond) {
      throw new ReportRefusal(
        422,
        `the report claims ${requests} requests in the second ${new Date(second * 1000).toISOString()}; a host serves at most ${bounds.maxRequestsPerSecond} requests/s (HOTPLANE_REPORT_MAX_RPS): nothing of it was kept`,
      );
    }
  }
}

/** The part of `report` the console may believe, or a ReportRefusal naming the cap it broke. */
export function boundReport(report: HostReport, bounds: ReportBoundsConfig, context: ReportBoundsContext): BoundedReport {
  seriesCap(report, bounds);
  const ignored = new Set<string>();
  const modules = new Set([...context.reportable].map((key) => moduleKey(key.slice(0, key.indexOf('\u0000')))));
  const allowed = (module: string, version: string | undefined) => {
    const ok = version === undefined ? modules.has(moduleKey(module)) : context.reportable.has(versionKey(module, version));
    if (!ok) ignored.add(`${module} ${version ?? '(module)'}`);
    return ok;
  };
  const versions = report.versions.filter((v) => allowed(v.module, v.version));
  const events = report.events.filter((e) => allowed(e.module, e.version));
  const samples = report.metrics.filter((s) => allowed(s.module, s.version));

  const series = new Set(context.hostSeries);
  for (const s of samples) series.add(versionKey(s.module, s.version));
  if (series.size > bounds.maxSeriesPerHost) {
    throw new ReportRefusal(
      422,
      `this host would have ${series.size} module versions with metrics; a host may have at most ${bounds.maxSeriesPerHost} (HOTPLANE_HOST_MAX_SERIES): nothing of the report was kept`,
    );
  }

  const lower = context.previousReportAt - bounds.clockSkewMs;
  const upper = context.receivedAt + bounds.clockSkewMs;
  let clamped = 0;
  const clamp = (iso: string) => {
    const result = clampTime(iso, lower, upper);
    if (result.moved) clamped += 1;
    return result.iso;
  };
  const metrics = samples.map((s) => ({ ...s, second: new Date(Math.floor(Date.parse(clamp(s.second)) / 1000) * 1000).toISOString() }));
  checkCounts(metrics, bounds);
  return {
    report: {
      ...report,
      // A version may have been serving since long before the previous report; only the future is impossible.
      versions: versions.map((v) => ({ ...v, since: clampTime(v.since, -Infinity, upper).iso })),
      events: events.map((e) => ({ ...e, time: clamp(e.time) })),
      metrics,
    },
    ignored: [...ignored].sort(),
    clamped,
  };
}
