import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readConsolePublicKey } from '../server/audit/console-key';
import { verifyAuditTrail } from '../server/audit/verify';
import { config } from '../server/config';
import { registerHost, revokeHost } from '../server/fleet/hosts';
import { FleetMetrics } from '../server/fleet/metrics-store';
import { proposeChange } from '../server/rollout/change-request';
import { FINISHED_STATES } from '../server/rollout/change-request.types';
import { startRollout } from '../server/rollout/operate';
import { createRolloutFixture } from '../server/testing/rollout-fixture';
import { testPostgresCluster } from '../server/testing/test-database';
import { startFaultLoad, type FaultLoad } from './support/fault-load';
import { succeeded } from './support/fault-stats';
import { propagationDelays, stepEventCounts, watchPropagation } from './support/fleet-watch';
import type { RequestRecord } from './support/load-worker';
import { markdownTable, percentile, startProof } from './support/proof-result';
import { portOf, startReplicaProcess, type ReplicaProcess } from './support/replica-process';
import { startRuntimeHost, type RuntimeHost } from './support/runtime-host';

// The fleet with real processes: a private PostgreSQL cluster, two console replicas on it, six hosts in three zones
// under traffic, and a rollout of ledger 1.1.0 in waves [zone-a] then [zone-b, zone-c] that meets, mid-rollout, a
// SIGKILL of the replica holding the lease, PostgreSQL stopped for 10 s, and a host revoked.

const proof = startProof('fleet', 'Fleet: replicas, zones and faults, real processes');
const short = proof.result.short;
const RATE_PER_HOST = short ? 8 : 15;
const HOLD_SECONDS = short ? 8 : 12;
const OUTAGE_MS = 10_000;
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const WAVES = [['zone-a'], ['zone-b', 'zone-c']];
const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `acct-${String(i).padStart(2, '0')}`);
const REVOKED = 'host-c2';
const PATIENT_MS = short ? 100_000 : 180_000;

const replicas: ReplicaProcess[] = [];
const hosts = new Map<string, RuntimeHost>();
const loads = new Map<string, FaultLoad>();
const ms = (v: number) => `${Math.round(v)} ms`;

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

const outcomeMessage = (outcome: string) => {
  try {
    return (JSON.parse(outcome) as { message?: string }).message ?? outcome;
  } catch {
    return outcome;
  }
};

/** Requests that failed: no HTTP answer, or a status other than the module's own answers (200, 422 from ledger). */
const failedIn = (records: readonly RequestRecord[], from: number, to: number) => records.filter((r) => r.at >= from && r.at < to && !succeeded(r));
const allRecords = () => [...loads.values()].flatMap((load) => load.records);

async function leader(): Promise<{ replica: ReplicaProcess; epoch: number } | null> {
  for (const replica of replicas) {
    const epoch = await replica.leaseEpoch();
    if (epoch !== null) return { replica, epoch };
  }
  return null;
}

process.env.HOTPLANE_TEST_DATABASE = 'postgresql';
const cluster = testPostgresCluster();
try {
  // 1. The database, prepared by this process: ledger 1.0.0 live (an approved first version), 1.1.0 accepted.
  const r = await createRolloutFixture();
  const db = r.f.db;
  const work = path.join(r.f.dataDir, 'fleet');
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const shared = {
    DATABASE_URL: process.env.DATABASE_URL!,
    HOTPLANE_FLEET_CA_FILE: path.join(work, 'fleet-ca', 'fleet-ca.pem'),
    HOTPLANE_CONSOLE_KEY: config().consoleKeyFile,
    HOTPLANE_ROLLOUT_TICK_MS: '100',
    HOTPLANE_DEMO: '0',
  };

  // 2. Two replicas on it, one CA and one console key between them.
  for (const name of ['replica-1', 'replica-2']) replicas.push(await startReplicaProcess({ name, dir: path.join(work, name), env: shared }));
  const caPem = readFileSync(shared.HOTPLANE_FLEET_CA_FILE, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)?.[0];
  if (!caPem) throw new Error('the replicas wrote no CA certificate');
  const consoleCaFile = path.join(work, 'console-ca.pem');
  writeFileSync(consoleCaFile, caPem);

  // 3. Six hosts, two per zone, each given both replicas (in alternating order, so both have hosts).
  const hostIds = ZONES.flatMap((zone) => [1, 2].map((n) => ({ id: `host-${zone.slice(-1)}${n}`, zone })));
  const hostsStarted = Date.now();
  await Promise.all(
    hostIds.map(async ({ id, zone }, i) => {
      const { joinToken } = await registerHost(db, r.f.actor, { name: id, zone });
      const consoles = (i % 2 === 0 ? replicas : [...replicas].reverse()).map((replica) => replica.fleetUrl);
      const dir = path.join(work, id);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      hosts.set(id, await startRuntimeHost({ consoles, consoleCaFile, joinToken, hostId: id, dir, module: 'ledger', readyWithinMs: 120_000 }));
    }),
  );
  const hostsReadyMs = Date.now() - hostsStarted;
  for (const [id, host] of hosts) loads.set(id, startFaultLoad({ url: `${host.invokeBase}ledger`, perSecond: RATE_PER_HOST, accounts: ACCOUNTS, clientTimeoutMs: 5_000 }));
  const watch = watchPropagation(db, hosts);
  await sleep(2_000);

  // 4. The rollout in waves, through the domain functions: proposed, approved with an SM2 signature, started.
  const plan = {
    steps: [{ weight: 50, holdSeconds: HOLD_SECONDS }, { weight: 100, holdSeconds: 2 }],
    // Loose latency limits: this part is about the faults around the rollout, not a slow canary on a loaded machine.
    analysis: { intervalSeconds: 0.5, windowSeconds: 3, minRequests: 10, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 20, p95NoiseMs: 500, maxP95Ms: 5000 },
    stepDeadlineSeconds: 90,
    rollbackWindowSeconds: 60,
    isolation: 'process' as const,
    waves: WAVES,
  };
  const rolloutStarted = Date.now();
  const proposed = await proposeChange(db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan, reason: 'fleet proof: ledger 1.1.0 zone by zone' });
  await r.approve(proposed.id, proposed.digest);
  const started = await startRollout({ db, settings: r.settings, metrics: new FleetMetrics() }, r.operator.actor, proposed.id);
  if (!started.started) throw new Error(`the rollout did not start: ${JSON.stringify(started)}`);
  const row = () => db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
  // Where a fault lands: the hold it is meant for, or — when the faults made the rollout end early (a breach rolled
  // it back) — at once, so the fault is still measured and the outcome says what happened.
  const faultPoints: string[] = [];
  const checkHolding = async (wave: number, step: number) => {
    const deadline = Date.now() + PATIENT_MS;
    for (;;) {
      const current = await row();
      if (FINISHED_STATES.includes(current.state as never)) return void faultPoints.push(`after the rollout ended ${current.state}`);
      if (current.waveIndex === wave && current.stepIndex === step && current.stepPhase === 'holding') return void faultPoints.push(`hold of wave ${wave + 1} step ${step + 1}`);
      if (Date.now() > deadline) throw new Error(`wave ${wave + 1} step ${step + 1} did not hold within ${PATIENT_MS / 1000} s: ${replicas.map((x) => `${x.name}: ${x.lastLines()}`).join('; ')}`);
      await sleep(100);
    }
  };

  // (a) The leader is killed during the hold of wave 1's first step.
  await checkHolding(0, 0);
  const before = await until('a leader', leader, 10_000);
  const killedAt = Date.now();
  await before.replica.kill();
  const survivor = replicas.find((x) => x !== before.replica)!;
  const takeover = await until('the other replica to lead', async () => {
    const epoch = await survivor.leaseEpoch();
    return epoch !== null && epoch > before.epoch ? { epoch, at: Date.now() } : null;
  }, 15_000, 25).catch(() => null);
  const takeoverMs = takeover ? takeover.at - killedAt : Number.NaN;
  // Two replicas remain: the killed one comes back on its port and folder (its hosts list it).
  const restarted = await startReplicaProcess({ name: before.replica.name, dir: path.join(work, before.replica.name), env: shared, port: portOf(before.replica) });
  replicas[replicas.indexOf(before.replica)] = restarted;
  const afterKill = Date.now();

  // (b) PostgreSQL stopped for 10 s during the hold of wave 2's first step.
  await checkHolding(1, 0);
  const outageAt = Date.now();
  cluster.stop();
  const servingDuringOutage = new Set<string>();
  const outageEnds = outageAt + OUTAGE_MS;
  while (Date.now() < outageEnds) {
    for (const [id, load] of loads) if (load.records.some((x) => x.at >= outageAt && succeeded(x))) servingDuringOutage.add(id);
    await sleep(500);
  }
  cluster.start();
  const outageEnd = Date.now();

  // (c) A host of zone-c revoked while wave 2 runs, once it reports again after the outage: a live reporter is cut.
  await until(`${REVOKED} to report again`, async () => ((await db.host.findUnique({ where: { id: REVOKED } }))?.lastSeenAt?.getTime() ?? 0) > outageEnd, 20_000, 100).catch(() => null);
  const atRevocation = await row();
  const revokeCalledAt = new Date();
  await revokeHost(db, r.f.actor, REVOKED);
  const revokeReturnedAt = new Date();

  const final = await until('the rollout to end', async () => {
    const current = await row();
    return FINISHED_STATES.includes(current.state as never) ? current : null;
  }, PATIENT_MS, 250).catch(async () => row());
  const rolloutMs = Date.now() - rolloutStarted;
  await sleep(3_000);
  const trafficEnd = Date.now();
  watch.stop();
  await Promise.all([...loads.values()].map((load) => load.stop()));

  // What the faults did to the requests, to each host's traffic.
  const records = allRecords();
  const killFailures = failedIn(records, killedAt, afterKill + 2_000);
  const outageFailures = failedIn(records, outageAt, outageEnd + 2_000);
  const allFailures = failedIn(records, 0, trafficEnd);
  const failureKinds = [...new Set(allFailures.map((x) => x.kind))].join(', ') || 'none';
  const lastSecond = (id: string) => loads.get(id)!.records.filter((x) => x.at >= trafficEnd - 4_000 && x.at < trafficEnd - 3_000 && succeeded(x));
  const onNew = [...hosts.keys()].filter((id) => id !== REVOKED).filter((id) => {
    const answers = lastSecond(id);
    return answers.length > 0 && answers.every((x) => x.version === '1.1.0');
  });

  // Steps run exactly once: the audit events of the request, and the step phases with their holds.
  const events = await db.auditEvent.findMany({ where: { targetId: proposed.id, action: { startsWith: 'rollout.' } }, orderBy: { seq: 'asc' } });
  const { expected, counts } = stepEventCounts(events, WAVES.length, plan.steps.length);
  const duplicates = expected.filter((key) => (counts.get(key) ?? 0) > 1);
  const skipped = final.state === 'Promoted' ? expected.filter((key) => !counts.has(key)) : [];
  const phases = await db.rolloutPhase.findMany({ where: { changeRequestId: proposed.id, kind: 'step' }, orderBy: { id: 'asc' } });
  const shortHolds = phases.filter((p) => p.endedAt && p.confirmedAt && p.endedAt.getTime() - p.confirmedAt.getTime() < plan.steps[p.stepIndex ?? 0].holdSeconds * 1000);
  const preflights = events.filter((e) => e.action === 'rollout.preflight_passed').length;
  const elections = await db.auditEvent.findMany({ where: { action: 'cluster.leader_elected' }, orderBy: { seq: 'asc' } });

  // The revoked host: nothing it sent after the revocation was accepted.
  const revokedRow = await db.host.findUniqueOrThrow({ where: { id: REVOKED } });
  // Its certificate is refused from the revocation's commit on (revokeHost has returned): a report accepted after
  // that shows as a host event received, or a lastSeenAt, later than the return.
  const lateEvents = await db.hostEvent.findMany({ where: { hostId: REVOKED, receivedAt: { gt: revokedRow.revokedAt ?? revokeReturnedAt } } });
  const acceptedAfter = lateEvents.filter((e) => e.receivedAt > revokeReturnedAt).length;
  const lastSeenAfter = revokedRow.lastSeenAt && revokedRow.lastSeenAt > revokeReturnedAt ? 1 : 0;
  // Reports that arrived while the revoking transaction ran (between revokeHost's call and return) may still land.
  const duringRevocation = lateEvents.filter((e) => e.receivedAt <= revokeReturnedAt).length + (revokedRow.lastSeenAt && revokedRow.lastSeenAt >= revokeCalledAt && revokedRow.lastSeenAt <= revokeReturnedAt ? 1 : 0);
  const revokeWindow = `revokedAt ${revokedRow.revokedAt?.toISOString()}, revokeHost returned ${revokeReturnedAt.toISOString()}, last seen ${revokedRow.lastSeenAt?.toISOString()}; events received after revokedAt: ${lateEvents.map((e) => `${e.kind} ${e.version ?? ''} at ${e.receivedAt.toISOString()}`).join(', ') || 'none'}`;
  console.log(`revoked host: ${revokeWindow}`);
  const refusals = await db.auditEvent.count({ where: { targetId: REVOKED, action: { in: ['host.connection_refused', 'host.report_refused'] } } });

  // Propagation of desired-state changes, commit → each host's apply (its /v1/status, read every 100 ms).
  // The goal is for a fleet in working order: changes committed while a replica or the database was being brought
  // back (until 5 s after) are counted apart, in the figure for the whole run.
  const delays = propagationDelays(watch, rolloutStarted);
  const calmDelays = propagationDelays(watch, rolloutStarted, [[killedAt, afterKill + 5_000], [outageAt, outageEnd + 5_000]]);
  const calmP99 = percentile(calmDelays, 99);

  // The engine paused while the database was away and resumed after: rollout events by their own time.
  const eventTimes = events.map((e) => Date.parse(e.time));
  const duringOutage = eventTimes.filter((t) => t >= outageAt && t < outageEnd).length;
  const resumedAfterMs = Math.min(...eventTimes.filter((t) => t >= outageEnd)) - outageEnd;

  // Both replicas stopped cleanly (the leader last: its final checkpoint covers the tail), then the chain verified.
  const lead = await leader();
  for (const replica of [...replicas.filter((x) => x !== lead?.replica), ...replicas.filter((x) => x === lead?.replica)]) await replica.stop();
  const checkpointFile = path.join(work, (lead?.replica ?? replicas[0]).name, 'data', 'audit-checkpoints.jsonl');
  const verification = await verifyAuditTrail(db, { checkpointFile, publicKey: readConsolePublicKey(shared.HOTPLANE_CONSOLE_KEY) });

  proof.figure({ name: 'takeover after SIGKILL of the leader (until the other replica holds a newer epoch)', value: Number.isNaN(takeoverMs) ? 'none within 15 s' : Math.round(takeoverMs), unit: Number.isNaN(takeoverMs) ? undefined : 'ms', goal: '≤ 5 s', met: takeoverMs <= 5_000 });
  proof.figure({ name: 'rollout audit events written more than once (per wave and step)', value: duplicates.length, goal: '0', met: duplicates.length === 0 });
  proof.figure({ name: 'rollout audit events missing (a step or hold skipped)', value: skipped.length + shortHolds.length, goal: '0', met: skipped.length + shortHolds.length === 0 });
  proof.figure({ name: 'failed requests from the leader kill until 2 s after the killed replica was back', value: killFailures.length, goal: '0', met: killFailures.length === 0 });
  proof.figure({ name: 'failed requests from PostgreSQL stop until 2 s after its restart', value: outageFailures.length, goal: '0', met: outageFailures.length === 0 });
  proof.figure({ name: 'hosts answering during the 10 s database outage', value: `${servingDuringOutage.size}/${hosts.size}`, goal: '6/6', met: servingDuringOutage.size === hosts.size });
  proof.figure({ name: "revoked host's reports accepted after its revocation", value: acceptedAfter + lastSeenAfter, goal: '0', met: acceptedAfter + lastSeenAfter === 0 });
  proof.figure({ name: "revoked host's reports accepted while revokeHost ran (call to return)", value: duringRevocation });
  proof.figure({ name: 'audit chain after the run', value: verification.ok ? `intact, ${verification.eventsChecked} events` : `${verification.problems.length} problem(s) from seq ${verification.firstBadSeq}`, goal: 'intact', met: verification.ok });
  proof.figure({ name: 'rollout outcome', value: final.state, goal: 'Promoted', met: final.state === 'Promoted' });
  proof.figure({ name: 'unrevoked hosts answering only with 1.1.0 at the end', value: `${onNew.length}/${hosts.size - 1}`, goal: `${hosts.size - 1}/${hosts.size - 1}`, met: onNew.length === hosts.size - 1 });
  proof.figure({ name: 'desired-state change → host applied (its /v1/status), p50, outside the fault windows', value: Math.round(percentile(calmDelays, 50)), unit: 'ms' });
  proof.figure({ name: 'desired-state change → host applied (its /v1/status), p99, outside the fault windows', value: Math.round(calmP99), unit: 'ms', goal: '≤ 1 s (hosts on either replica)', met: calmP99 <= 1_000 });
  proof.figure({ name: 'desired-state change → host applied, p99, whole rollout', value: Math.round(percentile(delays, 99)), unit: 'ms' });
  proof.figure({ name: 'rollout audit events dated inside the database outage', value: duringOutage });
  proof.figure({ name: 'first rollout event after the database came back', value: Number.isFinite(resumedAfterMs) ? Math.round(resumedAfterMs) : 'none', unit: Number.isFinite(resumedAfterMs) ? 'ms' : undefined });
  proof.figure({ name: 'requests sent to the six hosts', value: records.length });
  proof.figure({ name: 'failed requests over the whole run', value: allFailures.length });

  proof.result.markdown = [
    `Setup: a private PostgreSQL 15 cluster; two console replicas (\`proof/support/fleet-replica.ts\`: the start-up of \`npm start\` without pages, \`HOTPLANE_EMBEDDED_HOST=0\`), each with its own data folder and fleet port, one CA file and one console key; six \`hotplane host\` processes, two in each of ${ZONES.join(', ')}, enrolled with one-time join tokens (0600 files) and given both replicas' URLs in alternating order (ready ${(hostsReadyMs / 1000).toFixed(1)} s after registration). Each host takes ${RATE_PER_HOST} ledger requests a second over loopback HTTP all along. A failed request is one with no HTTP answer or a status other than the module's own answers (200, 422).`,
    '',
    `The rollout: ledger 1.0.0 → 1.1.0, steps ${plan.steps.map((s) => `${s.weight} % for ${s.holdSeconds} s`).join(', ')}, in waves ${WAVES.map((w) => `[${w.join(', ')}]`).join(' then ')}; proposed, approved with an SM2 signature and started through the domain functions; it ended **${final.state}**${final.outcome ? ` (${outcomeMessage(final.outcome)})` : ''} after ${(rolloutMs / 1000).toFixed(1)} s.`,
    '',
    markdownTable(
      ['fault (when)', 'what was measured', 'result'],
      [
        [`SIGKILL of the leader ${before.replica.name} (epoch ${before.epoch}), ${faultPoints[0]}`, 'takeover; failed requests', `${Number.isNaN(takeoverMs) ? 'no takeover within 15 s' : ms(takeoverMs)} (epoch ${takeover?.epoch ?? '—'}); ${killFailures.length} failed`],
        [`PostgreSQL stopped ${OUTAGE_MS / 1000} s, ${faultPoints[1]}`, 'hosts answering; failed requests', `${servingDuringOutage.size}/${hosts.size}; ${outageFailures.length} failed`],
        [`${REVOKED} revoked after the outage, rollout ${atRevocation.state} at wave ${atRevocation.waveIndex + 1} step ${atRevocation.stepIndex + 1} (${atRevocation.stepPhase})`, 'host events and reports accepted after revocation; refusals audited', `${acceptedAfter} events, last seen ${lastSeenAfter ? 'after' : 'before'} revocation; ${refusals} refusal(s) audited (${revokeWindow})`],
      ],
    ),
    '',
    `Rollout audit events, per wave and step (expected once each): ${expected.map((key) => `${key.replace('rollout.', '')} ×${counts.get(key) ?? 0}`).join(', ')}. Preflights passed: ${preflights}. Step phases: ${phases.map((p) => `wave ${(p.waveIndex ?? 0) + 1} step ${(p.stepIndex ?? 0) + 1} held ${p.endedAt && p.confirmedAt ? ((p.endedAt.getTime() - p.confirmedAt.getTime()) / 1000).toFixed(1) : '—'} s`).join('; ')}. Leader elections: ${elections.map((e) => `epoch ${JSON.parse(e.details).epoch}`).join(', ')}.`,
    '',
    `Failed requests over the whole run: ${allFailures.length} of ${records.length} (${failureKinds}). Propagation of the ${watch.committed.size} desired-state generations seen (commit time from FleetGeneration.updatedAt, apply time the first /v1/status read showing it, every 100 ms, so up to 100 ms late): outside the fault windows (from the kill until 5 s after the replica was back, from the database stop until 5 s after its restart) p50 ${ms(percentile(calmDelays, 50))}, p99 ${ms(calmP99)} over ${calmDelays.length} host applies; over the whole rollout p50 ${ms(percentile(delays, 50))}, p99 ${ms(percentile(delays, 99))} over ${delays.length}. While the database was away the engine wrote nothing (${duringOutage} rollout events dated in the outage) and its first event after took ${Number.isFinite(resumedAfterMs) ? ms(resumedAfterMs) : '—'}. The revoked host keeps serving its last desired state from its own disk (by design), so it stays on what it had.`,
    '',
    `Audit chain verified at the end against the last leader's checkpoints file: ${verification.ok ? 'intact' : 'broken'}, ${verification.eventsChecked} events, ${verification.checkpointsChecked} checkpoint lines (${verification.checkpointsTrusted} trusted), covered through seq ${verification.checkpointedThroughSeq} of ${verification.headSeq}.`,
  ].join('\n');
} catch (error) {
  proof.result.failures.push(`fleet run broke: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
} finally {
  await Promise.all([...loads.values()].map((load) => load.stop().catch(() => undefined)));
  await Promise.all([...hosts.values()].map((host) => host.stop().catch(() => undefined)));
  await Promise.all(replicas.map((replica) => replica.kill().catch(() => undefined)));
  cluster.start();
}
proof.finish();
process.exit();
