import type { MetricTotals } from '../fleet/metric-math';
import type { VersionSeconds } from '../fleet/metrics-store';
import { analyseCanary, type AnalysisCheck, type AnalysisDecision, type AnalysisWindow, type CanaryHealth, type CheckMetric } from './analysis';
import type { AnalysisSettings } from './change-request.types';
import type { StepVerdict } from './state-machine';

// The canary judged on each host alone, so one host cannot outvote the fleet (docs/rollouts.md#analysis): a host's
// numbers are only its own word, and summing them with the others' lets a host that reports a flood of clean
// requests drown a host whose canary fails. Any host's breach rolls back; a step passes only when a quorum of the
// hosts that had enough canary requests in the window passes; hosts with fewer are left out of that window.

export interface HostSeconds {
  host: string;
  canary: readonly MetricTotals[];
  stable: readonly MetricTotals[];
}

export interface HostVerdict {
  host: string;
  verdict: StepVerdict | 'left-out';
  /** The check that decided a breach or held the host inconclusive. */
  metric: CheckMetric | null;
  canaryRequests: number;
  stableRequests: number;
  detail: string;
}

export interface PerHostAnalysisInput {
  settings: AnalysisSettings;
  window: AnalysisWindow;
  hosts: readonly HostSeconds[];
  stableServesTraffic: boolean;
  health: CanaryHealth;
  /** Passing hosts needed; 0 = every host that had enough requests. */
  quorum: number;
}

export interface PerHostDecision extends AnalysisDecision {
  hosts: HostVerdict[];
}

/** One host's canary and stable seconds out of its per-version seconds. */
export function hostSeconds(host: string, versions: readonly VersionSeconds[], canary: string, stable: string | null): HostSeconds {
  const totals = (version: string | null) => versions.find((v) => v.version === version)?.seconds.map((s) => s.totals) ?? [];
  return { host, canary: totals(canary), stable: totals(stable) };
}

const HEALTHY: CanaryHealth = { crashed: null, unhealthy: null };

function judgeHost(input: PerHostAnalysisInput, host: HostSeconds): { verdict: HostVerdict; decision: AnalysisDecision } {
  const decision = analyseCanary({ ...input, canary: host.canary, stable: host.stable, health: HEALTHY });
  const deciding = decision.checks.find((c) => c.metric === decision.metric);
  const leftOut = decision.verdict !== 'breach' && decision.canaryRequests < input.settings.minRequests;
  const verdict: HostVerdict = {
    host: host.host,
    verdict: leftOut ? 'left-out' : decision.verdict,
    metric: leftOut ? null : decision.metric,
    canaryRequests: decision.canaryRequests,
    stableRequests: decision.stableRequests,
    detail: leftOut ? `${decision.canaryRequests} canary requests, ${input.settings.minRequests} needed to be judged` : (deciding?.detail ?? 'every check passes'),
  };
  return { verdict, decision };
}

const onHost = (host: string, checks: readonly AnalysisCheck[]) => checks.map((c) => ({ ...c, detail: `${host}: ${c.detail}` }));

export function analyseCanaryPerHost(input: PerHostAnalysisInput): PerHostDecision {
  // The hosts' health reports (crash, failing probes) are judged for the fleet: one of them is enough to breach.
  const fleet = analyseCanary({ ...input, canary: [], stable: [], health: input.health });
  const fleetHealth = fleet.checks.filter((c) => c.metric === 'crash' || c.metric === 'health');
  const judged = input.hosts.map((host) => judgeHost(input, host));
  const verdicts = judged.map((j) => j.verdict);
  const eligible = judged.filter((j) => j.verdict.verdict !== 'left-out');
  const passed = eligible.filter((j) => j.verdict.verdict === 'pass').length;
  const needed = input.quorum > 0 ? input.quorum : Math.max(1, eligible.length);
  const quorumCheck: AnalysisCheck = {
    metric: 'host-quorum',
    result: passed >= needed ? 'pass' : 'inconclusive',
    value: passed,
    baseline: eligible.length,
    threshold: needed,
    unit: 'count',
    detail:
      eligible.length === 0
        ? `no host had ${input.settings.minRequests} canary requests in the window (${input.hosts.length} reporting)`
        : `${passed} of ${eligible.length} judged host(s) pass, ${needed} needed${input.quorum > 0 ? ' (HOTPLANE_ANALYSIS_HOST_QUORUM)' : ' (every judged host)'}; ${input.hosts.length - eligible.length} left out for too few requests`,
  };

  const healthBreach = fleetHealth.find((c) => c.result === 'breach');
  const breachingHost = judged.find((j) => j.verdict.verdict === 'breach');
  const holdingHost = eligible.find((j) => j.verdict.verdict === 'inconclusive');
  const shown = breachingHost ?? holdingHost ?? eligible[0] ?? judged[0];
  const hostChecks = shown ? onHost(shown.verdict.host, shown.decision.checks.filter((c) => c.metric !== 'crash' && c.metric !== 'health')) : [];
  const checks = [...fleetHealth, quorumCheck, ...hostChecks];
  if (breachingHost) {
    const crash = shown!.decision.checks.find((c) => c.metric === 'crash' && c.result === 'breach');
    if (crash) checks[0] = onHost(shown!.verdict.host, [crash])[0];
  }

  let verdict: StepVerdict = quorumCheck.result === 'pass' ? 'pass' : 'inconclusive';
  let metric: CheckMetric | null = verdict === 'pass' ? null : 'host-quorum';
  if (healthBreach) [verdict, metric] = ['breach', healthBreach.metric];
  else if (breachingHost) [verdict, metric] = ['breach', breachingHost.decision.metric];
  return {
    verdict,
    metric,
    checks,
    window: fleet.window,
    canaryRequests: verdicts.reduce((sum, v) => sum + v.canaryRequests, 0),
    stableRequests: verdicts.reduce((sum, v) => sum + v.stableRequests, 0),
    hosts: verdicts,
  };
}
