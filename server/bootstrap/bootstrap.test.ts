import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { BootstrapRefused, bootstrapConsole } from './bootstrap';

// The fixture turns demo mode off (HOTPLANE_DEMO=0) and creates no account, as on a production first start.
describe('first start with demo mode off', () => {
  let f: ConsoleFixture;
  before(async () => {
    f = await createConsoleFixture();
    delete process.env.HOTPLANE_ADMIN_PASSWORD;
  });

  it('refuses to start without HOTPLANE_ADMIN_PASSWORD, creating nothing', async () => {
    await assert.rejects(bootstrapConsole(() => undefined), (error: unknown) => error instanceof BootstrapRefused && /HOTPLANE_ADMIN_PASSWORD/.test(error.message));
    assert.equal(await f.db.user.count(), 0);
  });

  it('creates the first admin from HOTPLANE_ADMIN_PASSWORD, once', async () => {
    process.env.HOTPLANE_ADMIN_PASSWORD = 'a long first admin password';
    await bootstrapConsole(() => undefined);
    const admin = await f.db.user.findUniqueOrThrow({ where: { email: 'admin@hotplane.local' } });
    assert.equal(admin.roles, 'admin');
    await bootstrapConsole(() => undefined);
    assert.equal(await f.db.user.count(), 1);
    assert.ok(await f.db.auditEvent.findFirst({ where: { action: 'user.created', targetId: admin.id } }));
  });
});
