import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appendAuditEvent } from './append';
import { auditEventFilter, listAuditEvents } from './list';
import { createTestTrail, TEST_ACTOR, type TestTrail } from './test-support';

describe('listAuditEvents', () => {
  let trail: TestTrail;
  const times: string[] = [];
  before(async () => {
    trail = createTestTrail();
    await trail.db.user.create({ data: { id: 'u-ann', name: 'Ann Admin', email: 'ann@example.cn' } });
    const events = [
      { action: 'role.granted', targetType: 'user', targetId: 'u-ann' },
      { action: 'artifact.accepted', targetType: 'artifact', targetId: 'ledger@1.0.0' },
      { action: 'role.removed', targetType: 'user', targetId: 'u-gone' },
    ] as const;
    for (const event of events) {
      const row = await trail.db.$transaction((tx) => appendAuditEvent(tx, { actor: TEST_ACTOR, ...event, details: {} }));
      times.push(row.time);
      // Distinct milliseconds, so each event has its own time to filter on.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  after(() => trail.close());

  test('a user target comes with the name and e-mail the person has today; other targets and unknown users get none', async () => {
    const { events } = await listAuditEvents(trail.db, auditEventFilter.parse({}));
    const byTarget = new Map(events.map((e) => [e.targetId, e.targetName]));
    assert.equal(byTarget.get('u-ann'), 'Ann Admin <ann@example.cn>');
    assert.equal(byTarget.get('ledger@1.0.0'), null);
    assert.equal(byTarget.get('u-gone'), null);
  });

  test('from and to bound the time, both ends included', async () => {
    const between = await listAuditEvents(trail.db, auditEventFilter.parse({ from: times[0], to: times[1] }));
    assert.deepEqual(between.events.map((e) => e.action), ['artifact.accepted', 'role.granted']);
    const later = await listAuditEvents(trail.db, auditEventFilter.parse({ from: times[2] }));
    assert.deepEqual(later.events.map((e) => e.action), ['role.removed']);
    const earlier = await listAuditEvents(trail.db, auditEventFilter.parse({ to: times[0] }));
    assert.deepEqual(earlier.events.map((e) => e.action), ['role.granted']);
  });
});
