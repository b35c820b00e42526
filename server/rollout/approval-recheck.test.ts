// Runs alone (scripts/test.mjs): it judges a real rollout under live traffic, whose latency other test files'
// CPU use would skew.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditActor } from '../audit/actor';
import { setUserDisabled, setUserRoles } from '../auth/users';
import type { ChangeRequest } from '../db/generated/client';
import { DomainError, DomainErrorCode } from '../errors';
import { readDesiredModule } from '../fleet/desired-state';
import { FleetMetrics } from '../fleet/metrics-store';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type Person, type RolloutFixture } from '../testing/rollout-fixture';
import { waitFor } from '../testing/wait-for';
import { proposeChange } from './change-request';
import { RolloutEngine } from './engine';
import { abortRollout, promoteNow, resumeRollout, startRollout } from './operate';
import { generateSm2KeyPair } from '../crypto';
import type { RolloutOutcome } from './change-request.types';
import { registerSigningKey, revokeSigningKey } from './signing-keys';

// Approvals re-checked at start and at every step of a running rollout, with a real host and the real engine:
// an approver who loses the role, the account or the key stops counting, and the rollout waits for people.

const PATIENT = { timeoutMs: 60_000 };
// The first step holds long enough that only the re-check can move the rollout while a test looks at it.
const longFirstStep = {
  steps: [
    { weight: 5, holdSeconds: 3_000 },
    { weight: 100, holdSeconds: 1 },
  ],
  stepDeadlineSeconds: 3_600,
  rollbackWindowSeconds: 60,
  isolation: 'process' as const,
};

describe('approval re-checks on a running rollout', () => {
  let r: RolloutFixture;
  let metrics: FleetMetrics;
  let h: InProcessHost;
  let engine: RolloutEngine;
  const admin: AuditActor = { id: 'adm-1', name: 'adm-1@test', roles: ['admin'] };
  const deps = () => ({ db: r.f.db, settings: r.settings, metrics });
  const row = (id: string) => r.f.db.changeRequest.findUniqueOrThrow({ where: { id } });
  const canaryWeight = async () => (await r.f.db.$transaction((tx) => readDesiredModule(tx, 'ledger')))?.versions.find((v) => v.version === '1.1.0')?.weight ?? 0;
  const refusedWith = (code: DomainErrorCode, pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };

  async function approvedBy(who: Person, reason: string): Promise<ChangeRequest> {
    const proposed = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', plan: longFirstStep, reason });
    await r.approve(proposed.id, proposed.digest, who);
    return proposed;
  }

  async function runningCanary(who: Person, reason: string) {
    const request = await approvedBy(who, reason);
    const started = await startRollout(deps(), r.operator.actor, request.id);
    assert.equal(started.started, true, JSON.stringify(started));
    return waitFor(`${request.id} to hold its first step`, async () => {
      const current = await row(request.id);
      return current.state === 'Canary' && current.stepPhase === 'holding' ? current : null;
    }, PATIENT);
  }

  const heldFor = (id: string) => waitFor(`${id} to be held for approval`, async () => ((await row(id)).approvalHold ? row(id) : null), PATIENT);

  async function assertHeldAndNotPromoted(id: string, voidReason: RegExp) {
    const held = await heldFor(id);
    assert.equal(held.state, 'Paused');
    assert.match(held.approvalHold!, /held: 0 of 1 approvals still stand/);
    assert.match(held.approvalHold!, voidReason);
    const approval = await r.f.db.approval.findFirstOrThrow({ where: { changeRequestId: id } });
    assert.ok(approval.voidedAt, 'the approval is voided');
    assert.match(approval.voidReason!, voidReason);
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'change.approval_voided', targetId: id } }), 'voiding is audited');
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'rollout.held_for_approval', targetId: id } }), 'the hold is audited');
    await assert.rejects(promoteNow(deps(), r.operator.actor, id), refusedWith(DomainErrorCode.Conflict, /held: 0 of 1 approvals/));
    await assert.rejects(resumeRollout(deps(), r.operator.actor, id), refusedWith(DomainErrorCode.Conflict, /approve it again, then resume/));
    await engine.tick();
    assert.equal((await row(id)).state, 'Paused', 'the engine does not move it either');
    assert.equal(await canaryWeight(), 5, 'the canary keeps its first-step weight');
    assert.equal(await r.f.db.auditEvent.count({ where: { action: 'rollout.promoted', targetId: id } }), 0);
  }

  before(async () => {
    r = await createRolloutFixture();
    await r.f.db.user.create({ data: { id: admin.id, email: admin.name, name: 'Admin', roles: 'admin' } });
    metrics = new FleetMetrics();
    h = await startInProcessHost(r.f.db, metrics);
    await waitFor('the host to serve ledger 1.0.0', async () => h.host.versionStatuses().some((v) => v.version === '1.0.0' && v.phase === 'serving'), PATIENT);
    h.setTraffic(50);
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    await engine?.stop();
    await h?.stop();
  });

  it('attack: an approver demoted mid-rollout: their approval is voided and the rollout is held, not promoted, until approved again', async () => {
    const running = await runningCanary(r.approver, 'demoted approver');
    await setUserRoles(r.f.db, admin, r.approver.actor.id, ['auditor']);
    await assertHeldAndNotPromoted(running.id, /no longer has the approver role/);

    const again = await r.approve(running.id, running.digest, r.secondApprover);
    assert.equal(again.approved, true, 'a second approver releases the hold');
    assert.equal((await row(running.id)).approvalHold, null);
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'rollout.approvals_restored', targetId: running.id } }));
    assert.equal((await resumeRollout(deps(), r.operator.actor, running.id)).state, 'Canary');
    await abortRollout(deps(), r.operator.actor, running.id, 'test over');
  });

  it("attack: an approver's key revoked mid-rollout: the approval is voided and the rollout is held, not promoted", async () => {
    const running = await runningCanary(r.secondApprover, 'revoked key');
    const key = await r.f.db.userSigningKey.findFirstOrThrow({ where: { userId: r.secondApprover.actor.id, revokedAt: null } });
    await revokeSigningKey(r.f.db, r.secondApprover.actor, key.id);
    await assertHeldAndNotPromoted(running.id, /was revoked/);
    await abortRollout(deps(), r.operator.actor, running.id, 'test over');
  });

  it('attack: an approval whose approver lost the role behind the console (a direct database edit) does not start a rollout', async () => {
    await registerSigningKey(r.f.db, r.secondApprover.actor, { publicKey: r.secondApprover.keys.publicKeyPem, label: 'new key' });
    const request = await approvedBy(r.secondApprover, 'role removed in the database');
    await r.f.db.user.update({ where: { id: r.secondApprover.actor.id }, data: { roles: 'auditor' } });
    const result = await startRollout(deps(), r.operator.actor, request.id);
    assert.equal(result.started, false);
    assert.match((result as { reason: string }).reason, /no longer hold \(ap-2@test does not have the approver role\)/);
    const after = await row(request.id);
    assert.equal(after.state, 'PendingApproval', 'back to the approvers');
    assert.equal(after.startedAt, null);
    await r.f.db.user.update({ where: { id: r.secondApprover.actor.id }, data: { roles: 'approver' } });
  });

  it('attack: disabling an approver voids their approval of a request not yet started, which goes back to the approvers', async () => {
    const request = await approvedBy(r.secondApprover, 'disabled approver');
    assert.equal((await row(request.id)).state, 'Approved');
    await setUserDisabled(r.f.db, admin, r.secondApprover.actor.id, true);
    const approval = await r.f.db.approval.findFirstOrThrow({ where: { changeRequestId: request.id } });
    assert.match(approval.voidReason!, /was disabled/);
    assert.equal((await row(request.id)).state, 'PendingApproval');
    const result = await startRollout(deps(), r.operator.actor, request.id).catch((error: Error) => ({ started: false, reason: error.message }));
    assert.equal(result.started, false);
  });

  it('attack: an approver demoted while the preflight runs: the preflight fails and the canary never gets traffic', async () => {
    const third: Person = { actor: { id: 'ap-3', name: 'ap-3@test', roles: ['approver'] }, keys: generateSm2KeyPair() };
    await r.f.db.user.create({ data: { id: third.actor.id, email: third.actor.name, name: 'ap-3', roles: 'approver' } });
    await registerSigningKey(r.f.db, third.actor, { publicKey: third.keys.publicKeyPem, label: 'ap-3 key' });
    // This engine's preflight waits for the test, so the demotion lands while it runs.
    await engine.stop();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const preflight = async () => {
      await gate;
      return { ok: true, report: 'stub preflight passed', timings: {} };
    };
    const gated = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, preflight, log: () => undefined });
    try {
      const request = await approvedBy(third, 'demoted during preflight');
      assert.equal((await startRollout(deps(), r.operator.actor, request.id)).started, true);
      await gated.tick();
      await setUserRoles(r.f.db, admin, third.actor.id, ['auditor']);
      release();
      await gated.stop();
      const after = await row(request.id);
      assert.equal(after.state, 'Failed');
      assert.match((JSON.parse(after.outcome!) as RolloutOutcome).message, /only 0 of 1 approvals still stand before the first canary step \(ap-3@test: .*no longer has the approver role\)/);
      assert.equal(after.stepIndex, -1, 'no canary step was entered');
      assert.equal(await canaryWeight(), 0);
    } finally {
      engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
    }
  });
});
