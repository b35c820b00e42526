import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDb, prepareDatabase, type Db } from '../db/client';
import { readDesiredState } from '../fleet/desired-state';
import { demoRequestSource } from '../fleet/demo-requests';
import { testDatabaseUrl, testsOnPostgres } from '../testing/test-database';
import { exampleModuleIndex } from './example-modules';
import { DEMO_FLEET, seedDemo } from './seed';

// The demo's first start on a real database: what an `npm start` newcomer sees served and with traffic.
describe('demo seed', () => {
  let db: Db;
  let dataDir: string;
  let seeded: Awaited<ReturnType<typeof seedDemo>>;
  let goBuilt: boolean;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-demo-seed-'));
    const databaseUrl = testDatabaseUrl(path.join(dataDir, 'hotplane.db'));
    Object.assign(process.env, { HOTPLANE_DATA_DIR: dataDir, HOTPLANE_DEMO: '1', ...(testsOnPostgres() ? { DATABASE_URL: databaseUrl } : {}) });
    await prepareDatabase(databaseUrl);
    db = createDb(databaseUrl);
    seeded = await seedDemo(db, dataDir, { password: 'demo-seed-test-password' });
    goBuilt = (await exampleModuleIndex()).some((m) => m.module === 'edge-gateway');
  });

  after(async () => {
    await db?.$disconnect();
  });

  it('serves ledger, risk-rules and the Go gateway (where Go is installed), each at 100 % in a process cell', async () => {
    const expected = goBuilt ? ['edge-gateway', 'ledger', 'risk-rules'] : ['ledger', 'risk-rules'];
    const state = await db.$transaction((tx) => readDesiredState(tx));
    assert.deepEqual(state.modules.map((m) => m.module).sort(), expected);
    for (const m of state.modules) {
      assert.deepEqual(m.versions.map((v) => [v.version, v.weight, v.isolation]), [['1.0.0', 100, 'process']], m.module);
    }
    assert.deepEqual([...seeded.served].sort(), expected.map((m) => `${m}@1.0.0`));
    if (goBuilt) assert.deepEqual(seeded.skipped, []);
    else assert.match(seeded.skipped.join('\n'), /edge-gateway is left out of the demo fleet: 'go' is not on PATH/);
  });

  it('puts each live through the real pipeline: accepted, proposed by the operator, signed off by the approver with their key, promoted', async () => {
    const operator = await db.user.findFirstOrThrow({ where: { email: 'operator@hotplane.local' } });
    const approver = await db.user.findFirstOrThrow({ where: { email: 'approver@hotplane.local' } });
    for (const name of seeded.served.map((s) => s.split('@')[0])) {
      const version = await db.moduleVersion.findFirstOrThrow({ where: { moduleName: name, version: '1.0.0' } });
      assert.equal(version.status, 'accepted', name);
      const change = await db.changeRequest.findFirstOrThrow({ where: { module: name }, include: { approvals: true } });
      assert.equal(change.state, 'Promoted', name);
      assert.equal(change.requestedById, operator.id, name);
      assert.deepEqual(change.approvals.map((a) => [a.decision, a.approverId, a.revision]), [['approved', approver.id, change.revision]], name);
      assert.match(change.approvals[0].signatureHex ?? '', /^[0-9a-f]{100,}$/, `${name}: the approval carries an SM2 signature`);
    }
  });

  it('has demo traffic for every served module and leaves ledger 1.1.0 signed for the newcomer to upload', async () => {
    for (const demo of DEMO_FLEET) assert.ok(demoRequestSource(demo.module), `no demo traffic for ${demo.module}`);
    for (const suffix of ['', '.manifest.json', '.manifest.sig']) assert.ok(existsSync(path.join(seeded.artifactDir, `ledger-1.1.0.so${suffix}`)), suffix);
    const seededEvent = await db.auditEvent.findFirstOrThrow({ where: { action: 'demo.seeded' } });
    assert.deepEqual(JSON.parse(seededEvent.details).serving, seeded.served);
  });
});
