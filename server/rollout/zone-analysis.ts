import type { AnalysisCheck } from './analysis';
import type { HostVerdict, PerHostDecision } from './host-analysis';
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
