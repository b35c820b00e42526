import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRPCError } from '@trpc/server';
import type { SessionUser } from '../../auth/session';
import { createConsoleFixture, type ConsoleFixture } from '../../testing/console-fixture';
import { createCaller } from '../root';

// The live streams through tRPC: who may open them, and what the first event of an allowed one is.

const headers = new Headers({ origin: 'http://localhost:3000', host: 'localhost:3000' });
const signedIn = (roles: SessionUser['roles']): SessionUser => ({ id: `live-${roles.join('-') || 'none'}`, name: 'live', email: 'live@test', roles, via: 'cookie' });

async function firstEvent(stream: Promise<AsyncIterable<unknown>>) {
  const iterator = (await stream)[Symbol.asyncIterator]();
  try {
    return (await iterator.next()).value;
  } finally {
    await iterator.return?.();
  }
}

async function refused(stream: Promise<AsyncIterable<unknown>>, code: TRPCError['code']) {
  await assert.rejects(firstEvent(stream), (error: unknown) => {
    assert.ok(error instanceof TRPCError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe('live router', () => {
  let f: ConsoleFixture;
  const call = (user: SessionUser | null) => createCaller({ db: f.db, headers, user });

  before(async () => {
    f = await createConsoleFixture();
  });
  after(async () => {
    await f.db.$disconnect();
  });

  it('attack: a signed-in user without runtime.read cannot open the metrics stream (FORBIDDEN), nor the dashboard', async () => {
    await refused(call(signedIn([])).live.moduleMetrics({ module: 'ledger', seconds: 60 }), 'FORBIDDEN');
    await refused(call(signedIn([])).live.dashboard(), 'FORBIDDEN');
    await assert.rejects(call(signedIn([])).live.metricsWindow({ module: 'ledger', seconds: 60 }), { code: 'FORBIDDEN' });
  });

  it('attack: without a session every stream is UNAUTHORIZED', async () => {
    await refused(call(null).live.moduleMetrics({ module: 'ledger', seconds: 60 }), 'UNAUTHORIZED');
    await refused(call(null).live.targets(), 'UNAUTHORIZED');
    await refused(call(null).live.approvalQueue(), 'UNAUTHORIZED');
  });

  it('attack: a forged lastEventId does not break the stream: it gets the whole window', async () => {
    // A tracked event is [id, data] (tRPC's envelope) when called in-process.
    const [, data] = (await firstEvent(call(signedIn(['oncall'])).live.moduleMetrics({ module: 'ledger', seconds: 60, lastEventId: '../../etc' }))) as [
      string,
      { metrics: { kind: string } },
    ];
    assert.equal(data.metrics.kind, 'window');
  });

  it('on-call opens the dashboard stream and gets every row first', async () => {
    const event = (await firstEvent(call(signedIn(['oncall'])).live.dashboard())) as { reset: boolean; order: string[] };
    assert.equal(event.reset, true);
    assert.ok(Array.isArray(event.order));
  });
});
