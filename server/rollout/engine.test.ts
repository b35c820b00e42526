// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR } from '../audit/actor';
import { consoleAuditPublicKey } from '../audit/console-trail';
import type { ChangeRequest } from '../db/generated/client';
import { FleetMetrics } from '../fleet/metrics-store';
import { readDesiredModule } from '../fleet/desired-state';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { waitFor } from '../testing/wait-for';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import type { RolloutOutcome, RolloutPlan } from './change-request.types';
import { proposeChange } from './change-request';
import { moduleBreaker, overrideBreaker } from './circuit-breaker';
import { RolloutEngine } from './engine';
import { evidenceDownload, verifyEvidence } from './evidence';
import { startRollout } from './operate';
import { rollbackModule } from './rollback';
import { acknowledgeReview } from './reviews';
import { createWebhook, webhookSignature } from './webhooks';

// The engine against a real host (server/host: real process cells running the example ledger builds), fed
// through the console's own report intake, with 300 requests a second of ledger traffic.

const TRAFFIC_PER_SECOND = 300;
const quickPlan = (overrides: Partial<RolloutPlan> = {}) => ({
  steps: [
    { weight: 5, holdSeconds: 1 },
    { weight: 25, holdSeconds: 1 },
    { weight: 50, holdSeconds: 1 },
    { weight: 100, holdSeconds: 1 },
  ],
  // The host runs in this test's own event loop, beside the engine and SQLite: on a loaded CI machine a stall of
  // hundreds of ms lands on whichever version was called (a 5 % canary's p95 rests on a few calls), so the latency
  // rule only catches what no stall explains. These tests are about the engine's flow; the latency rule itself is
  // tested on fixed figures in analysis.test.ts.
  analysis: { intervalSeconds: 0.25, windowSeconds: 3, minRequests: 20, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 1.2, p95NoiseMs: 1000, maxP95Ms: 5000 },
  stepDeadlineSeconds: 30,
  rollbackWindowSeconds: 60,
  isolation: 'process' as const,
  ...overrides,
});

// The engine, the host and the console all run here; on a loaded machine a rollout takes a while.
const PATIENT = { timeoutMs: 60_000 };

interface Received {
  kind: string;
  body: string;
  signature: string;
}

describe('rollout engine with a real host', () => {
  let r: RolloutFixture;
  let metrics: FleetMetrics;
  let h: InProcessHost;
  let engine: RolloutEngine;
  let receiver: Server;
  const received: Received[] = [];
  const secrets = new Map<string, string>();
  const oncall = { id: 'oc-1', name: 'oc-1@test', roles: ['oncall'] };

  const row = (id: string) => r.f.db.changeRequest.findUniqueOrThrow({ where: { id } });
  const desired = () => r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger'));
  const weights = async () => Object.fromEntries((await desired())?.versions.map((v) => [v.version, v.weight]) ?? []);
  const hostWeights = () => Object.fromEntries(h.host.versionStatuses().filter((v) => v.phase === 'serving').map((v) => [v.version, v.weight]));
  const finished = (id: string, state: string) =>
    waitFor(`${id} to be ${state}`, async () => ((await row(id)).state === state ? row(id) : null), PATIENT).catch(async (error: Error) => {
      const last = await row(id);
      throw new Error(`${error.message}; it is ${last.state} at step ${last.stepIndex} (${last.stepPhase ?? 'no phase'}), outcome ${last.outcome ?? 'none'}; host ${JSON.stringify(h.host.versionStatuses().map((v) => [v.version, v.phase, v.weight, v.healthy]))}`);
    });

  async function approvedRequest(toVersion: string, plan = quickPlan()): Promise<ChangeRequest> {
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion, plan, reason: `roll out ${toVersion}` });
    await r.approve(proposed.id, proposed.digest);
    return proposed;
  }

  async function start(id: string) {
    const result = await startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, id);
    assert.equal(result.started, true, JSON.stringify(result));
  }

  before(async () => {
    // Two failed rollouts in a row open the breaker here, so the test needs only two breaches.
    r = await createRolloutFixture({ HOTPLANE_BREAKER_CONSECUTIVE: '2' });
    metrics = new FleetMetrics();
    h = await startInProcessHost(r.f.db, metrics);
    await waitFor('the host to serve ledger 1.0.0', async () => hostWeights()['1.0.0'] === 100, PATIENT);
    h.setTraffic(TRAFFIC_PER_SECOND);
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        received.push({ kind: String(request.headers['x-hotplane-event']), body: Buffer.concat(chunks).toString('utf8'), signature: String(request.headers['x-hotplane-signature']) });
        // The first delivery of each kind fails, so every kind is also delivered by a retry.
        response.writeHead(received.filter((x) => x.kind === request.headers['x-hotplane-event']).length === 1 ? 503 : 204).end();
      });
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => receiver.once('listening', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    for (const kind of ['rollout-started', 'promoted', 'rolled-back', 'circuit-open'] as const) {
      secrets.set(kind, (await createWebhook(r.f.db, r.f.actor, { kind, url })).secret);
    }
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    await engine?.stop();
    await h?.stop();
    receiver?.close();
  });

  it('rolls ledger 1.0.0 → 1.1.0 through every step to 100 % and promotes it, the old stable kept warm', async () => {
    const request = await approvedRequest('1.1.0');
    await start(request.id);
    const promoted = await finished(request.id, 'Promoted');
    assert.equal((JSON.parse(promoted.outcome!) as RolloutOutcome).trigger, 'promoted');
    assert.deepEqual(await weights(), { '1.0.0': 0, '1.1.0': 100 }, 'the previous stable stays loaded at weight 0');
    const phases = await r.f.db.rolloutPhase.findMany({ where: { changeRequestId: request.id }, orderBy: { id: 'asc' } });
    assert.deepEqual(phases.map((p) => `${p.kind}${p.weight ?? ''}:${p.result ?? ''}`), ['preflight:passed', 'step5:passed', 'step25:passed', 'step50:passed', 'step100:promoted', 'promote100:']);
    assert.ok(phases.filter((p) => p.kind === 'step').every((p) => p.confirmedAt), 'every step was confirmed by the host before its hold');
    assert.match(phases[0].detail, /self-test|pass|ok/i);
    const decisions = await r.f.db.rolloutDecision.findMany({ where: { changeRequestId: request.id } });
    for (const step of [0, 1, 2, 3]) assert.ok(decisions.some((d) => d.stepIndex === step && d.verdict === 'pass'), `step ${step + 1} passed an analysis`);
    assert.ok(decisions.every((d) => d.verdict !== 'breach'));
    await waitFor('the host to take all traffic on 1.1.0', async () => hostWeights()['1.1.0'] === 100, PATIENT);
    assert.ok((h.answered.get('1.1.0') ?? 0) > 100, 'the canary served real requests');
    const events = await r.f.db.auditEvent.findMany({ where: { targetId: request.id }, orderBy: { seq: 'asc' } });
    const actions = events.map((e) => e.action);
    for (const action of ['change.created', 'change.approved', 'rollout.started', 'rollout.preflight_passed', 'rollout.step_started', 'rollout.step_confirmed', 'rollout.step_passed', 'rollout.promoted']) {
      assert.ok(actions.includes(action), action);
    }
    assert.equal(actions.filter((a) => a === 'rollout.step_started').length, 4);
    // The seed's fields: pre-upgrade SHA-256 (the version replaced), the new version's signer, the approvers' keys, the time.
    const [from, to] = await Promise.all(
      ['1.0.0', '1.1.0'].map((version) => r.f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version } }, include: { signer: true } })),
    );
    const approval = await r.f.db.approval.findFirstOrThrow({ where: { changeRequestId: request.id, decision: 'approved' } });
    for (const action of ['rollout.step_started', 'rollout.promoted']) {
      const event = events.find((e) => e.action === action)!;
      const seed = JSON.parse(event.details).seed;
      assert.deepEqual(seed, {
        preUpgradeVersion: '1.0.0',
        preUpgradeSha256: from.sha256,
        installedVersion: '1.1.0',
        installedSha256: to.sha256,
        signerDn: to.signer.subjectDn,
        signerSerial: to.signer.serial,
        operatorKeyFingerprints: [approval.keyFingerprint],
        effectiveAt: seed.effectiveAt,
      }, action);
      assert.ok(Date.parse(seed.effectiveAt) <= Date.parse(event.time), `${action} takes effect when its transition ran`);
    }
  });

  it('seals a signed evidence bundle for the promoted request, referenced from the audit trail', async () => {
    const promoted = await r.f.db.changeRequest.findFirstOrThrow({ where: { toVersion: '1.1.0', state: 'Promoted' } });
    const bundle = await waitFor('the evidence bundle', () => r.f.db.evidenceBundle.findFirst({ where: { changeRequestId: promoted.id } }), { timeoutMs: 20_000 });
    const download = await evidenceDownload(r.f.db, bundle.id, consoleAuditPublicKey().pem);
    assert.deepEqual(verifyEvidence(download), { ok: true, message: 'signed by the console key' });
    assert.equal(verifyEvidence({ ...download, content: download.content.replace('"Promoted"', '"RolledBack"') }).ok, false);
    const content = JSON.parse(download.content);
    assert.equal(content.changeRequest.id, promoted.id);
    assert.equal(content.approvals.length, 1);
    assert.ok(content.approvals[0].signature && content.approvals[0].publicKeyPem);
    assert.equal(content.metricsBefore.length, 3);
    assert.equal(content.metricsAfter.length, 3);
    assert.ok(content.metricsAfter.some((s: { versions: { version: string; requests: number }[] }) => s.versions.some((v) => v.version === '1.1.0' && v.requests > 0)));
    assert.ok(content.decisions.length > 4);
    assert.ok(content.phases.every((p: { startedAt: string }) => p.startedAt));
    const sealed = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'rollout.evidence_sealed', targetId: promoted.id } });
    assert.equal(JSON.parse(sealed.details).sm3, bundle.sm3);
  });

  it('one click after a promotion returns to the warm previous stable, with no reload, and opens a review', async () => {
    const promoted = await r.f.db.changeRequest.findFirstOrThrow({ where: { toVersion: '1.1.0', state: 'Promoted' } });
    const clicked = Date.now();
    const result = await rollbackModule(r.f.db, oncall, { module: 'ledger', reason: 'fee complaints' }, r.settings);
    assert.deepEqual({ from: result.from, to: result.to, warm: result.warm, changeRequestId: result.changeRequestId }, { from: '1.1.0', to: '1.0.0', warm: true, changeRequestId: promoted.id });
    assert.deepEqual(await weights(), { '1.0.0': 100 });
    await waitFor('the host to put all traffic on 1.0.0', async () => hostWeights()['1.0.0'] === 100 && !('1.1.0' in hostWeights()), { timeoutMs: 10_000 });
    const review = await waitFor('the review confirmed by the host', async () => {
      const found = await r.f.db.postIncidentReview.findUniqueOrThrow({ where: { id: result.reviewId } });
      return found.confirmedAt ? found : null;
    }, PATIENT);
    console.log(`one-click rollback (warm, after promotion): host confirmed ${review.confirmedAt!.getTime() - clicked} ms after the click`);
    const after = await row(promoted.id);
    assert.equal(after.state, 'RolledBack');
    assert.equal((JSON.parse(after.outcome!) as RolloutOutcome).trigger, 'one-click');
    await assert.rejects(acknowledgeReview(r.f.db, oncall, { id: review.id, note: 'mine' }), /another approver/);
    const acknowledged = await acknowledgeReview(r.f.db, r.approver.actor, { id: review.id, note: 'fee rollout needs a customer notice first' });
    assert.equal(acknowledged.acknowledgedByName, 'ap-1@test');
  });

  it('rolls the error-prone 1.2.3 back by itself, naming the failing metric, value, threshold and window', async () => {
    const request = await approvedRequest('1.2.3');
    await start(request.id);
    const rolledBack = await finished(request.id, 'RolledBack');
    const outcome = JSON.parse(rolledBack.outcome!) as RolloutOutcome;
    assert.equal(outcome.trigger, 'breach');
    assert.equal(outcome.metric, 'error-rate');
    assert.ok(outcome.value! > 10 && outcome.value! < 40, `about 25 % of requests fail, saw ${outcome.value}`);
    assert.equal(outcome.threshold, 1);
    assert.ok(outcome.window && outcome.window.seconds >= 1);
    assert.match(outcome.message, /error-rate .*over the limit 1%/);
    assert.deepEqual(await weights(), { '1.0.0': 100 });
    const phases = await r.f.db.rolloutPhase.findMany({ where: { changeRequestId: request.id }, orderBy: { id: 'asc' } });
    const step = phases.find((p) => p.kind === 'step')!;
    const rollback = phases.find((p) => p.kind === 'rollback')!;
    assert.equal(step.weight, 5, 'caught at the first step');
    const reactionMs = rollback.startedAt.getTime() - step.confirmedAt!.getTime();
    console.log(`auto-rollback: decided ${reactionMs} ms after the canary began serving`);
    assert.ok(reactionMs < 5_000, `rolled back within 5 s of the canary serving (took ${reactionMs} ms)`);
    await waitFor('the host to drop 1.2.3', async () => !('1.2.3' in hostWeights()) && hostWeights()['1.0.0'] === 100, { timeoutMs: 10_000 });
    const breach = await r.f.db.rolloutDecision.findFirstOrThrow({ where: { changeRequestId: request.id, verdict: 'breach' } });
    assert.equal(breach.metric, 'error-rate');
  });

  it('resumes a rollout where it stood after the engine is dropped mid-step and a new one is built on the same database', async () => {
    await engine.stop();
    const request = await approvedRequest('1.1.0', quickPlan({ steps: [{ weight: 5, holdSeconds: 2 }, { weight: 50, holdSeconds: 2 }, { weight: 100, holdSeconds: 1 }], rollbackWindowSeconds: 1 }));
    await start(request.id);
    // The first engine is driven by hand and then simply no longer called: no stop, no cleanup, as after kill -9.
    const first = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined });
    const drive = setInterval(() => void first.tick(), r.settings.tickMs);
    const midway = await waitFor('step 2 to be confirmed', async () => {
      const current = await row(request.id);
      return current.stepIndex === 1 && current.stepPhase === 'holding' ? current : null;
    }, PATIENT);
    clearInterval(drive);
    assert.deepEqual(await weights(), { '1.0.0': 50, '1.1.0': 50 });
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
    await finished(request.id, 'Promoted');
    const steps = await r.f.db.rolloutPhase.findMany({ where: { changeRequestId: request.id, kind: 'step' }, orderBy: { id: 'asc' } });
    assert.deepEqual(steps.map((s) => s.stepIndex), [0, 1, 2], 'no step was started twice');
    assert.equal(steps[1].generation, midway.stepGeneration, 'the second engine kept the step the first had written');
    assert.equal(await r.f.db.rolloutPhase.count({ where: { changeRequestId: request.id, kind: 'preflight' } }), 1);
    await waitFor('the previous stable to be retired after the 1 s window', async () => (await row(request.id)).previousRetiredAt, PATIENT);
    assert.deepEqual(await weights(), { '1.1.0': 100 });
  });

  it('one click during a healthy canary puts all traffic back on the stable within seconds', async () => {
    const request = await approvedRequest('1.0.0', quickPlan({ steps: [{ weight: 25, holdSeconds: 20 }, { weight: 100, holdSeconds: 1 }] }));
    await start(request.id);
    await waitFor('the canary to hold at 25 %', async () => (await row(request.id)).stepPhase === 'holding', PATIENT);
    assert.equal(hostWeights()['1.0.0'], 25);
    const clicked = Date.now();
    const result = await rollbackModule(r.f.db, oncall, { module: 'ledger', reason: 'pager: latency alarm' }, r.settings);
    assert.deepEqual({ from: result.from, to: result.to, warm: result.warm }, { from: '1.0.0', to: '1.1.0', warm: true });
    await waitFor('all traffic on 1.1.0', async () => hostWeights()['1.1.0'] === 100 && !('1.0.0' in hostWeights()), { timeoutMs: 10_000 });
    console.log(`one-click rollback (during a canary): all traffic on the stable ${Date.now() - clicked} ms after the click`);
    const rolledBack = await row(request.id);
    assert.equal(rolledBack.state, 'RolledBack');
    const outcome = JSON.parse(rolledBack.outcome!) as RolloutOutcome;
    assert.equal(outcome.trigger, 'one-click');
    assert.equal(outcome.by?.name, 'oc-1@test');
    assert.ok(await r.f.db.postIncidentReview.findFirst({ where: { id: result.reviewId, changeRequestId: request.id } }));
  });

  it('beyond the rollback window one click reloads the previous accepted version, and does not count as a failed rollout', async () => {
    const before = await moduleBreaker(r.f.db, 'ledger', Date.now(), r.settings.breaker);
    assert.equal(before.consecutiveFailures, 1, 'the canary rolled back by one click, after the promotion of the resumed rollout');
    const result = await rollbackModule(r.f.db, oncall, { module: 'ledger', reason: 'settlement mismatch' }, r.settings);
    assert.deepEqual({ from: result.from, to: result.to, warm: result.warm }, { from: '1.1.0', to: '1.0.0', warm: false });
    await waitFor('1.0.0 loaded again and serving everything', async () => hostWeights()['1.0.0'] === 100 && !('1.1.0' in hostWeights()), { timeoutMs: 20_000 });
    assert.equal((await row(result.changeRequestId!)).state, 'RolledBack');
    const breaker = await moduleBreaker(r.f.db, 'ledger', Date.now(), r.settings.breaker);
    assert.deepEqual([breaker.open, breaker.consecutiveFailures], [false, 1], JSON.stringify(breaker));
    assert.equal(await r.f.db.auditEvent.count({ where: { action: 'breaker.opened', targetId: 'ledger' } }), 0);
  });

  it('rollouts that fail in a row open the circuit breaker, and an admin override lets the next one through', async () => {
    const failing = await approvedRequest('1.2.3');
    await start(failing.id);
    await finished(failing.id, 'RolledBack');
    const breaker = await moduleBreaker(r.f.db, 'ledger', Date.now(), r.settings.breaker);
    assert.equal(breaker.open, true, JSON.stringify(breaker));
    assert.match(breaker.reason!, /2 rollouts in a row failed or were rolled back before promotion/);
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'breaker.opened', targetId: 'ledger' } }));
    const request = await approvedRequest('1.1.0');
    await assert.rejects(startRollout({ db: r.f.db, settings: r.settings, metrics }, r.operator.actor, request.id), /circuit breaker of ledger is open/);
    await overrideBreaker(r.f.db, { id: 'ad-1', name: 'ad-1@test', roles: ['admin'] }, 'ledger', 'root cause fixed in 1.1.0 config', r.settings.breaker);
    assert.equal((await moduleBreaker(r.f.db, 'ledger', Date.now(), r.settings.breaker)).open, false);
  });

  it('notifies every event kind by webhook, signed, with retries', async () => {
    await waitFor('a retried delivery of every kind', async () => ['rollout-started', 'promoted', 'rolled-back', 'circuit-open'].every((kind) => received.filter((x) => x.kind === kind).length >= 2), { timeoutMs: 20_000 });
    for (const delivery of received) assert.equal(delivery.signature, webhookSignature(secrets.get(delivery.kind)!, delivery.body));
    const rolledBack = received.filter((x) => x.kind === 'rolled-back').map((x) => JSON.parse(x.body) as { trigger: string; metric: string | null });
    assert.ok(rolledBack.some((x) => x.trigger === 'breach' && x.metric === 'error-rate'));
    const stored = await r.f.db.webhookDelivery.findMany({ where: { kind: 'promoted' } });
    assert.ok(stored.every((d) => d.deliveredAt && d.attempts >= 1));
    assert.ok(stored.some((d) => d.attempts === 2 && d.lastStatus === 204));
  });

  it('writes desired state only as the console or the people who acted, never anyone else', async () => {
    const writers = await r.f.db.auditEvent.findMany({ where: { action: 'runtime.desired_changed', targetId: 'ledger' }, select: { actorId: true } });
    assert.deepEqual([...new Set(writers.map((w) => w.actorId))].sort(), [SYSTEM_ACTOR.id, 'oc-1', r.f.actor.id].sort());
  });
});
