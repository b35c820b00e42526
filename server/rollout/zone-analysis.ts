import type { AnalysisCheck } from './analysis';
import { analyseCanaryPerHost, type HostSeconds, type HostVerdict, type PerHostAnalysisInput, type PerHostDecision } from './host-analysis';
import type { StepVerdict } from './state-machine';

// The per-host verdicts grouped by zone (docs/rollouts.md#waves). A breach on any host of any zone the canary has
// reached is a breach of the rollout (host-analysis.ts decides that); with waves, a step also passes only when every
// zone of the current wave passed on its own hosts, so a wave is never promoted on the word of an earlier wave's zones.

export interface ZoneVerdict {
  zone: string;
  verdict: StepVerdict;
  /** Hosts of the zone reporting, and how many had enough canary requests to be judged. */
  hosts: number;
  judged: number;
  passed: number;
  breached: string[];
  /** The zone is in the wave whose steps are running (an earlier wave's zones keep the canary and are judged too). */
  currentWave: boolean;
}

export function zoneVerdicts(hostZones: ReadonlyMap<string, string>, verdicts: readonly HostVerdict[], zones: readonly string[], currentWave: readonly string[]): ZoneVerdict[] {
  return zones.map((zone) => {
    const mine = verdicts.filter((v) => hostZones.get(v.host) === zone);
    const judged = mine.filter((v) => v.verdict !== 'left-out');
    const breached = mine.filter((v) => v.verdict === 'breach').map((v) => v.host);
    const passed = judged.filter((v) => v.verdict === 'pass').length;
    const verdict: StepVerdict = breached.length > 0 ? 'breach' : judged.length > 0 && passed === judged.length ? 'pass' : 'inconclusive';
    return { zone, verdict, hosts: mine.length, judged: judged.length, passed, breached, currentWave: currentWave.includes(zone) };
  });
}

/**
 * The current wave's hosts judged as the step's weights say; an earlier wave's hosts run the canary at 100 % (their
 * last step), so they are judged without a stable to compare with. A breach of either is the decision.
 */
export function analyseWaveHosts(input: Omit<PerHostAnalysisInput, 'hosts'>, current: readonly HostSeconds[], earlier: readonly HostSeconds[]): PerHostDecision {
  const now = analyseCanaryPerHost({ ...input, hosts: current });
  if (earlier.length === 0) return now;
  const before = analyseCanaryPerHost({ ...input, hosts: earlier, stableServesTraffic: false });
  const decided = now.verdict !== 'breach' && before.verdict === 'breach' ? before : now;
  return {
    ...decided,
    hosts: [...now.hosts, ...before.hosts],
    canaryRequests: now.canaryRequests + before.canaryRequests,
    stableRequests: now.stableRequests + before.stableRequests,
  };
}

/** Holds a passing decision while a zone of the current wave has not passed on its own; a breach stays a breach. */
export function withWaveZones(decision: PerHostDecision, zones: readonly ZoneVerdict[]): PerHostDecision {
  const waiting = zones.filter((z) => z.currentWave && z.verdict !== 'pass');
  const current = zones.filter((z) => z.currentWave);
  const check: AnalysisCheck = {
    metric: 'wave-zones',
    result: waiting.length === 0 ? 'pass' : 'inconclusive',
    value: current.length - waiting.length,
    baseline: null,
    threshold: current.length,
    unit: 'count',
    detail:
      waiting.length === 0
        ? `every zone of the wave passed (${current.map((z) => z.zone).join(', ')})`
        : `waiting for ${waiting.map((z) => `${z.zone} (${z.judged} of ${z.hosts} host(s) judged, ${z.passed} passed)`).join(', ')}`,
  };
  const checks = [...decision.checks, check];
  if (decision.verdict !== 'pass' || waiting.length === 0) return { ...decision, checks };
  return { ...decision, checks, verdict: 'inconclusive', metric: 'wave-zones' };
}
