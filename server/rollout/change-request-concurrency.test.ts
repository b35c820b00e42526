// Two console processes acting on change requests at once (two clients on one database, on both dialects): ids are
// never handed out twice, and of two edits of the same revision exactly one wins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDb, type Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { editChange, proposeChange } from './change-request';

describe('change requests from two processes at once', () => {
  let r: RolloutFixture;
  let other: Db;
  before(async () => {
    r = await createRolloutFixture();
    other = createDb(r.f.databaseUrl);
  });
  after(() => other.$disconnect());

  test('concurrent proposals get distinct ids', async () => {
    const proposals = await Promise.all(
      Array.from({ length: 6 }, (_, i) => proposeChange(i % 2 === 0 ? r.f.db : other, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: `parallel ${i}` })),
    );
    assert.equal(new Set(proposals.map((p) => p.id)).size, 6);
  });

  test('of two concurrent edits of one revision, one applies and the other is refused as a conflict', async () => {
    const row = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'to be edited twice' });
    const outcomes = await Promise.allSettled(
      [r.f.db, other].map((db, i) => editChange(db, r.operator.actor, { id: row.id, revision: row.revision, toVersion: '1.1.0', reason: `edit ${i}` })),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, JSON.stringify(outcomes.map((o) => o.status === 'rejected' && String(o.reason))));
    const refused = outcomes.find((o) => o.status === 'rejected');
    assert.ok(refused?.reason instanceof DomainError && refused.reason.code === DomainErrorCode.Conflict, String(refused?.reason));
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: row.id } })).revision, row.revision + 1);
  });
});
