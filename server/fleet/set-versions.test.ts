import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import { createCaller } from '../api/root';
import type { Role } from '../auth/permissions';
import type { SessionUser } from '../auth/session';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { currentGeneration, readDesiredState } from './desired-state';

function userWith(roles: Role[]): SessionUser {
  return { id: `u-${roles.join('-')}`, name: roles.join(','), email: `${roles.join('-')}@test`, roles, via: 'cookie' };
}

describe('fleet.setVersions: what an operator may ask every host to run', () => {
  let f: ConsoleFixture;
  const sameOrigin = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });
  const as = (...roles: Role[]) => createCaller({ db: f.db, headers: sameOrigin, user: userWith(roles) });
  const ledger = (version: string, weight: number, isolation: 'inproc' | 'process' = 'inproc') => ({ version, weight, isolation });
  const auditCount = () => f.db.auditEvent.count({ where: { action: 'runtime.desired_changed' } });

  async function refused(promise: Promise<unknown>, code: TRPCError['code'], message: RegExp) {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof TRPCError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, message);
      return true;
    });
  }

  // Every refusal must leave the desired state, the generation and the audit trail as they were.
  async function refusedWithoutTrace(promise: Promise<unknown>, code: TRPCError['code'], message: RegExp) {
    const generation = await currentGeneration(f.db);
    const audits = await f.db.auditEvent.count();
    const rows = await f.db.desiredModule.findMany();
    await refused(promise, code, message);
    assert.equal(await currentGeneration(f.db), generation);
    assert.equal(await f.db.auditEvent.count(), audits);
    assert.deepEqual(await f.db.desiredModule.findMany(), rows);
  }

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    const bad = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.2.4', 'crash'), module: 'ledger', version: '1.2.4' }));
    assert.equal(bad.outcome, 'accepted', bad.message);
    await f.db.moduleVersion.update({ where: { id: bad.versionId! }, data: { status: 'revoked', revokedAt: new Date(), revokedReason: 'crashes on the 4th request' } });
  });

  it('starts at generation 0 with nothing desired', async () => {
    assert.deepEqual(await readDesiredState(f.db), { generation: 0, modules: [] });
  });

  it('sets versions, raises the generation and audits before and after in the same change', async () => {
    const change = await as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 90), ledger('1.1.0', 10, 'process')], requestTimeoutMs: 500 });
    assert.equal(change.changed, true);
    assert.equal(change.generation, 1);
    const state = await readDesiredState(f.db);
    const sm3 = (await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.0.0' } })).sm3;
    assert.deepEqual(state.modules, [
      {
        module: 'ledger',
        requestTimeoutMs: 500,
        versions: [
          { version: '1.0.0', sm3, weight: 90, isolation: 'inproc' },
          { version: '1.1.0', sm3: (await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.1.0' } })).sm3, weight: 10, isolation: 'process' },
        ],
      },
    ]);
    const event = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'runtime.desired_changed' } });
    const details = JSON.parse(event.details);
    assert.equal(event.targetId, 'ledger');
    assert.equal(event.actorName, 'operator@test');
    assert.equal(details.before, null);
    assert.equal(details.after.versions[1].isolation, 'process');
    assert.equal(details.generation, 1);
  });

  it('changes nothing, and records nothing, when the same state is set again', async () => {
    const audits = await auditCount();
    const change = await as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 90), ledger('1.1.0', 10, 'process')], requestTimeoutMs: 500 });
    assert.equal(change.changed, false);
    assert.equal(change.generation, 1);
    assert.equal(await auditCount(), audits);
  });

  it('refuses a version the registry does not have', async () => {
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('9.9.9', 100)] }), 'BAD_REQUEST', /ledger 9\.9\.9 is not in the registry/);
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'nosuch', versions: [ledger('1.0.0', 100)] }), 'NOT_FOUND', /no module named "nosuch"/);
  });

  it('refuses a revoked version, saying why it was revoked', async () => {
    await refusedWithoutTrace(
      as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 50), ledger('1.2.4', 50)] }),
      'BAD_REQUEST',
      /ledger 1\.2\.4 is revoked \(crashes on the 4th request\)/,
    );
  });

  it('refuses weights that do not add up to 100, fractions and repeats', async () => {
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 60), ledger('1.1.0', 30)] }), 'BAD_REQUEST', /weights add up to 90/);
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 99.5), ledger('1.1.0', 0.5)] }), 'BAD_REQUEST', /whole percentages/);
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 50), ledger('1.0.0', 50)] }), 'BAD_REQUEST', /listed twice/);
  });

  it('refuses to load a Go module in-process and accepts it in its own process', async (t) => {
    const go = f.modulePath('edge-gateway', '1.0.0');
    if (!statSync(go, { throwIfNoEntry: false })) return t.skip('go is not installed, so the Go example module was not built');
    const result = await f.upload(await f.signedArtifact({ so: go, module: 'edge-gateway', version: '1.0.0', moduleClass: 'gateway' }));
    assert.equal(result.outcome, 'accepted', result.message);
    const gateway = (isolation: 'inproc' | 'process') => ({ module: 'edge-gateway', versions: [{ version: '1.0.0', weight: 100, isolation }] });
    await refusedWithoutTrace(as('operator').fleet.setVersions(gateway('inproc')), 'BAD_REQUEST', /carries a Go runtime.*choose isolation "process"/);
    const change = await as('operator').fleet.setVersions(gateway('process'));
    assert.equal(change.changed, true);
    await as('operator').fleet.removeModule({ module: 'edge-gateway' });
  });

  it('refuses a red-line module whatever its versions', async () => {
    await f.db.module.create({ data: { name: 'key-vault', class: 'key-management' } });
    await refusedWithoutTrace(as('operator').fleet.setVersions({ module: 'key-vault', versions: [ledger('1.0.0', 100)] }), 'BAD_REQUEST', /RED LINE: key-vault is a key-management module/);
  });

  it('lets only operators change the desired state', async () => {
    await refusedWithoutTrace(as('auditor').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 100)] }), 'FORBIDDEN', /runtime\.set/);
    await refusedWithoutTrace(as('admin').fleet.removeModule({ module: 'ledger' }), 'FORBIDDEN', /runtime\.set/);
    const runtime = await as('auditor').fleet.moduleRuntime({ module: 'ledger' });
    assert.deepEqual(runtime.desired?.versions.map((v) => v.weight), [90, 10]);
    assert.deepEqual(runtime.candidates.map((c) => c.version), ['1.1.0', '1.0.0']);
  });

  it('unloads the module when every weight is 0, and removeModule does the same', async () => {
    const before = await currentGeneration(f.db);
    const change = await as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.0.0', 0), ledger('1.1.0', 0)] });
    assert.deepEqual([change.changed, change.after, change.generation], [true, null, before + 1]);
    assert.deepEqual((await readDesiredState(f.db)).modules, []);
    const last = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'runtime.desired_changed' }, orderBy: { seq: 'desc' } });
    assert.equal(JSON.parse(last.details).after, null);

    await as('operator').fleet.setVersions({ module: 'ledger', versions: [ledger('1.1.0', 100)] });
    const removed = await as('operator').fleet.removeModule({ module: 'ledger' });
    assert.deepEqual([removed.changed, removed.generation], [true, before + 3]);
    assert.equal((await as('operator').fleet.removeModule({ module: 'ledger' })).changed, false);
  });
});
