import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter, createCaller } from '../api/root';
import type { Role } from '../auth/permissions';
import type { SessionUser } from '../auth/session';
import { currentGeneration, readDesiredState } from '../fleet/desired-state';
import { FleetMetrics } from '../fleet/metrics-store';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { changeDigest } from './digest';
import { moduleBreaker } from './circuit-breaker';
import { probeProcessPreflight } from './preflight';
import { RolloutEngine } from './engine';
import { rollbackModule } from './rollback';
import { escalateOverdueReviews } from './reviews';
import { createWebhook, deliverDueWebhooks } from './webhooks';
import { runWholeChange } from './whole-change';

// §1 of issue 8: nothing changes what runs except an approved change request, an automatic move toward safety, or
// a break-glass back to the last promoted stable. Each attack is made the way an insider would make it, through
// the same entry points the console and the CLI use, and each asserts the refusal, its reason and that nothing
// that runs changed.

function person(id: string, roles: Role[]): SessionUser {
  return { id, name: id, email: `${id}@test`, roles, via: 'cookie' };
}

const headers = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });

async function rejectsWith(promise: Promise<unknown>, code: TRPCError['code'], pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TRPCError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('one road to production', () => {
  let r: RolloutFixture;
  const operator = person('mallory-op', ['operator']);
  const selfMadeOperator = person('mallory-admin', ['admin', 'operator']);
  const oncall = person('oc-7', ['oncall']);
  const call = (who: SessionUser) => createCaller({ db: r.f.db, headers, user: who });
  const snapshot = async () => JSON.stringify(await r.f.db.$transaction((tx) => readDesiredState(tx)));
  const desiredWrites = () => r.f.db.auditEvent.count({ where: { action: 'runtime.desired_changed' } });

  // A direct POST as the browser would send it, to a procedure path that used to write desired state.
  async function post(who: SessionUser, path: string, body: unknown) {
    const response = await fetchRequestHandler({
      endpoint: '/api/trpc',
      req: new Request(`http://localhost:3000/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://localhost:3000' }, body: JSON.stringify(body) }),
      router: appRouter,
      createContext: () => ({ db: r.f.db, headers, user: who }),
    });
    return { status: response.status, text: await response.text() };
  }

  before(async () => {
    r = await createRolloutFixture();
  });

  it('puts the fixture’s first version live through an approved change request (cr-1, kind first, no from-version)', async () => {
    const first = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: 'cr-1' }, include: { approvals: true } });
    assert.deepEqual([first.kind, first.state, first.fromVersion, first.toVersion, first.desiredBefore], ['first', 'Promoted', '', '1.0.0', null]);
    assert.equal(first.approvals.filter((a) => a.decision === 'approved').length, 1);
    assert.notEqual(first.approvals[0].approverId, first.requestedById);
  });

  it('attack: an operator calls fleet.setVersions and fleet.removeModule to change weights, config, isolation or remove a module: no such road, nothing changes', async () => {
    const before = await snapshot();
    const writes = await desiredWrites();
    const attempts = [
      ['fleet.setVersions', { module: 'ledger', versions: [{ version: '1.0.0', weight: 50, isolation: 'inproc', config: 'evil' }, { version: '1.2.3', weight: 50, isolation: 'inproc' }] }],
      ['fleet.setVersions', { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' }], requestTimeoutMs: 600000 }],
      ['fleet.removeModule', { module: 'ledger' }],
    ] as const;
    for (const [path, body] of attempts) {
      const answer = await post(operator, path, body);
      assert.equal(answer.status, 404, answer.text);
      assert.match(answer.text, new RegExp(`No procedure found on path \\\\"${path.replace('.', '\\.')}\\\\"`));
    }
    assert.equal(await snapshot(), before);
    assert.equal(await desiredWrites(), writes);
  });

  it('attack: an operator proposes inproc isolation, a new config and a removal and starts each without approval: refused, nothing changes', async () => {
    const before = await snapshot();
    const generation = await currentGeneration(r.f.db);
    const proposals = [
      { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' as const, config: 'acct-00 999999999\n' }], reason: 'faster, trust me' },
      { module: 'ledger', versions: [], reason: 'tidy up' },
    ];
    for (const proposal of proposals) {
      const proposed = await call(operator).rollouts.changes.proposeDesired(proposal);
      assert.equal(proposed.state, 'PendingApproval');
      await rejectsWith(call(operator).rollouts.operate.start({ id: proposed.id }), 'CONFLICT', /a PendingApproval change request cannot start/);
      await call(operator).rollouts.changes.cancel({ id: proposed.id, reason: 'attack over' });
    }
    assert.equal(await snapshot(), before);
    assert.equal(await currentGeneration(r.f.db), generation);
  });

  it('attack: an admin who granted themselves operator still has no direct road and cannot approve their own change', async () => {
    const before = await snapshot();
    const direct = await post(selfMadeOperator, 'fleet.setVersions', { module: 'ledger', versions: [{ version: '1.2.4', weight: 100, isolation: 'inproc' }] });
    assert.equal(direct.status, 404);
    const proposed = await call(selfMadeOperator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [{ version: '1.2.4', weight: 100, isolation: 'process' }], reason: 'my own road' });
    await rejectsWith(call(selfMadeOperator).rollouts.operate.start({ id: proposed.id }), 'CONFLICT', /PendingApproval change request cannot start/);
    await rejectsWith(
      call(selfMadeOperator).rollouts.changes.approve({ id: proposed.id, digest: proposed.digest, signature: '00'.repeat(64) }),
      'FORBIDDEN',
      /changes\.approve/,
    );
    await call(selfMadeOperator).rollouts.changes.cancel({ id: proposed.id, reason: 'attack over' });
    assert.equal(await snapshot(), before);
  });

  it('attack: an approval of change A (a config change) is replayed on change B (a removal): refused for the digest and for the signature', async () => {
    const a = await call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process', config: 'acct-00 5\n' }], reason: 'change A' });
    const b = await call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [], reason: 'change B' });
    const rowA = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: a.id } });
    // The digest names the kind and the whole desired state after: the same request with another config or kind is another digest.
    const subject = { ...rowA, plan: JSON.parse(rowA.plan) };
    assert.equal(changeDigest(subject), rowA.digest);
    assert.notEqual(changeDigest({ ...subject, desiredAfter: rowA.desiredAfter!.replace('acct-00 5', 'acct-00 6') }), rowA.digest);
    assert.notEqual(changeDigest({ ...subject, kind: 'remove' }), rowA.digest);
    const signatureOfA = r.sign(a.digest, r.approver);
    const approverCall = call(person(r.approver.actor.id, ['approver']));
    await rejectsWith(approverCall.rollouts.changes.approve({ id: b.id, digest: a.digest, signature: signatureOfA }), 'CONFLICT', new RegExp(`${b.id} changed since you loaded it`));
    await rejectsWith(approverCall.rollouts.changes.approve({ id: b.id, digest: b.digest, signature: signatureOfA }), 'BAD_REQUEST', /does not verify against your registered key/);
    assert.equal(await r.f.db.approval.count({ where: { changeRequestId: b.id } }), 0);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: b.id } })).state, 'PendingApproval');
    for (const id of [a.id, b.id]) await call(operator).rollouts.changes.cancel({ id, reason: 'attack over' });
  });

  it('attack: a change approved against one state is started after what runs changed under it: refused, its approval no longer describes it', async () => {
    const stale = await call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }], requestTimeoutMs: 700, reason: 'timeout 700' });
    await r.approve(stale.id, stale.digest);
    const other = await call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }], requestTimeoutMs: 900, reason: 'timeout 900' });
    await r.approve(other.id, other.digest);
    await call(operator).rollouts.operate.start({ id: other.id });
    assert.equal((await runWholeChange(r.f.db, other.id, { preflight: probeProcessPreflight, settings: r.settings })).state, 'Promoted');
    const before = await snapshot();
    await rejectsWith(call(operator).rollouts.operate.start({ id: stale.id }), 'CONFLICT', /what ledger runs changed since .* was proposed/);
    assert.equal(await snapshot(), before);
    await call(operator).rollouts.changes.cancel({ id: stale.id, reason: 'stale' });
  });

  it('attack: a change of what runs is proposed or started while a rollout of the module is active: refused', async () => {
    const settingsChange = await call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }], requestTimeoutMs: 800, reason: 'timeout 800' });
    await r.approve(settingsChange.id, settingsChange.digest);
    const upgrade = await call(operator).rollouts.changes.propose({ module: 'ledger', toVersion: '1.1.0', reason: 'fee per transfer' });
    await r.approve(upgrade.id, upgrade.digest);
    await call(operator).rollouts.operate.start({ id: upgrade.id });
    const before = await snapshot();
    await rejectsWith(call(operator).rollouts.changes.proposeDesired({ module: 'ledger', versions: [], reason: 'remove mid-rollout' }), 'CONFLICT', new RegExp(`${upgrade.id} is rolling out ledger \\(Preflight\\)`));
    await rejectsWith(call(operator).rollouts.operate.start({ id: settingsChange.id }), 'CONFLICT', new RegExp(`${upgrade.id} is rolling out ledger already`));
    assert.equal(await snapshot(), before);
    await call(operator).rollouts.operate.abort({ id: upgrade.id, reason: 'test over' });
    await call(operator).rollouts.changes.cancel({ id: settingsChange.id, reason: 'test over' });
  });

  it('attack: on-call pulls break-glass to a version that was never promoted as the stable: refused, audited, nothing changes', async () => {
    const apply = async (input: Parameters<ReturnType<typeof call>['rollouts']['changes']['proposeDesired']>[0]) => {
      const proposed = await call(operator).rollouts.changes.proposeDesired(input);
      await r.approve(proposed.id, proposed.digest);
      await call(operator).rollouts.operate.start({ id: proposed.id });
      const done = await runWholeChange(r.f.db, proposed.id, { preflight: probeProcessPreflight, settings: r.settings });
      assert.equal(done.state, 'Promoted', done.outcome ?? '');
      return done;
    };
    // Removed, then 1.1.0 as a first version: the accepted 1.0.0 below it is not what any promotion replaced.
    const removal = await apply({ module: 'ledger', versions: [], reason: 'start ledger afresh' });
    assert.equal(removal.kind, 'remove');
    assert.equal(await r.f.db.desiredModule.count({ where: { module: 'ledger' } }), 0);
    const first = await apply({ module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'process' }], reason: 'ledger afresh on 1.1.0' });
    assert.equal(first.kind, 'first');
    const before = await snapshot();
    await rejectsWith(
      call(oncall).rollouts.operate.rollback({ module: 'ledger', reason: 'back to 1.0.0 please' }),
      'CONFLICT',
      new RegExp(`break-glass refused: ${first.id} put ledger 1\\.1\\.0 live as its first version: there is no earlier stable version to go back to`),
    );
    assert.equal(await snapshot(), before);
    const refusal = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'breakglass.refused', targetId: 'ledger' }, orderBy: { seq: 'desc' } });
    assert.equal(refusal.actorId, oncall.id);
    assert.equal(await r.f.db.postIncidentReview.count({ where: { module: 'ledger' } }), 0);
    // The next test needs a promoted settings change to undo.
    await apply({ module: 'ledger', versions: [{ version: '1.1.0', weight: 100, isolation: 'process' }], requestTimeoutMs: 900, reason: 'timeout 900' });
  });

  it('attack: break-glass while the circuit breaker is open is still allowed, because it only goes back to the last promoted stable; the review it opens is escalated by webhook once overdue', async () => {
    const settings = { ...r.settings, breaker: { ...r.settings.breaker, consecutiveFailures: 1 }, reviewDeadlineMs: 1 };
    const promotedNow = await r.f.db.changeRequest.findFirstOrThrow({ where: { module: 'ledger', state: 'Promoted' }, orderBy: { promotedAt: 'desc' } });
    assert.equal(promotedNow.kind, 'settings');
    // A failed change (1.2.1 fails its self-test in the preflight probe) opens the breaker.
    const failing = await call(operator).rollouts.changes.proposeDesired({
      module: 'ledger',
      versions: [{ version: '1.1.0', weight: 100, isolation: 'process' }, { version: '1.2.1', weight: 0, isolation: 'process' }],
      requestTimeoutMs: 900,
      reason: 'warm 1.2.1',
    });
    await r.approve(failing.id, failing.digest);
    await call(operator).rollouts.operate.start({ id: failing.id });
    assert.equal((await runWholeChange(r.f.db, failing.id, { preflight: probeProcessPreflight, settings })).state, 'Failed');
    assert.equal((await moduleBreaker(r.f.db, 'ledger', Date.now(), settings.breaker)).open, true);

    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    }).listen(0, '127.0.0.1');
    after(() => receiver.close());
    await new Promise((resolve) => receiver.once('listening', resolve));
    await createWebhook(r.f.db, { id: 'ad-1', name: 'ad-1@test', roles: ['admin'] }, { kind: 'review-overdue', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });

    const result = await rollbackModule(r.f.db, { id: oncall.id, name: oncall.name, roles: oncall.roles }, { module: 'ledger', reason: 'latency after the timeout change' }, settings);
    assert.equal(result.changeRequestId, promotedNow.id);
    const desired = (await r.f.db.$transaction((tx) => readDesiredState(tx))).modules.find((m) => m.module === 'ledger')!;
    assert.deepEqual(desired, JSON.parse(promotedNow.desiredBefore!), 'back to exactly what the approvers saw before the change');
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: promotedNow.id } })).state, 'RolledBack');
    const review = await r.f.db.postIncidentReview.findUniqueOrThrow({ where: { id: result.reviewId } });
    assert.equal(review.dueAt!.getTime(), review.openedAt.getTime() + 1);
    assert.ok(await r.f.db.auditEvent.findFirst({ where: { action: 'review.opened', targetId: review.id } }));

    assert.equal(await escalateOverdueReviews(r.f.db, Date.now() + 10), 1);
    assert.equal(await escalateOverdueReviews(r.f.db, Date.now() + 10), 0, 'escalated once only');
    await deliverDueWebhooks(r.f.db, { maxAttempts: 3, retryMs: 100 });
    assert.equal(received.length, 1);
    const payload = JSON.parse(received[0]) as Record<string, string>;
    assert.deepEqual([payload.kind, payload.review, payload.module, payload.openedBy], ['review-overdue', review.id, 'ledger', oncall.name]);
    assert.equal(await r.f.db.auditEvent.count({ where: { action: 'review.overdue', targetId: review.id } }), 1);
    const listed = await call(oncall).rollouts.operate.reviews({ open: true });
    assert.equal(listed.find((x) => x.id === review.id)?.overdue, true);
  });

  it('the engine carries a started settings change out on its tick: preflight of the new config, then written whole', async () => {
    const proposed = await call(operator).rollouts.changes.proposeDesired({
      module: 'ledger',
      versions: [{ version: '1.1.0', weight: 100, isolation: 'process', config: 'acct-00 42\n' }],
      requestTimeoutMs: 900,
      reason: 'opening balance for acct-00',
    });
    assert.equal(proposed.kind, 'settings');
    await r.approve(proposed.id, proposed.digest);
    await call(operator).rollouts.operate.start({ id: proposed.id });
    const generation = await currentGeneration(r.f.db);
    const engine = new RolloutEngine({ db: r.f.db, metrics: new FleetMetrics(), settings: r.settings, log: () => undefined });
    await engine.tick();
    await engine.stop();
    const done = await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: proposed.id } });
    assert.equal(done.state, 'Promoted', done.outcome ?? '');
    assert.equal(await currentGeneration(r.f.db), generation + 1);
    const ledger = (await r.f.db.$transaction((tx) => readDesiredState(tx))).modules.find((m) => m.module === 'ledger')!;
    assert.equal(ledger.versions[0].config, 'acct-00 42\n');
    const written = await r.f.db.auditEvent.findFirstOrThrow({ where: { action: 'runtime.desired_changed' }, orderBy: { seq: 'desc' } });
    assert.equal(JSON.parse(written.details).changeRequestId, proposed.id);
  });
});
