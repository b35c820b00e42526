import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { revokeVersion } from '../artifacts/catalog';
import { FLEET_PATHS } from '../protocol';
import { putLiveApproved } from '../testing/approved-desired';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { waitFor } from '../testing/wait-for';
import { desiredStateWatch, DesiredStateWatch, nudgeDesiredStateWatch } from './desired-changes';
import { serveDesiredState } from './fleet-http';
import { FleetMetrics } from './metrics-store';
import { serveFetchHandler } from './test-http';

// The desired state pushed by long-poll: real console handlers on loopback HTTP, a real SQLite database.

// The fleet listener authenticates hosts by certificate (identity tests); here the handler is given the host.
const host = { id: 'edge-1', name: 'edge-1', zone: 'default' };

describe('desired state long-poll', () => {
  let f: ConsoleFixture;
  let server: Awaited<ReturnType<typeof serveFetchHandler>>;
  const poll = (tag: string, wait: string | number, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${FLEET_PATHS.desiredState}?wait=${wait}`, { headers: { ...headers, 'if-none-match': tag } });
  const currentTag = async () => (await fetch(`${server.url}${FLEET_PATHS.desiredState}`, {})).headers.get('etag')!;

  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    const deps = { db: f.db, metrics: new FleetMetrics() };
    server = await serveFetchHandler(async (request) => serveDesiredState(deps, host, request));
  });
  after(() => server.close());

  it('holds a poll while the state is unchanged and answers every waiting host as soon as a change commits, with one tag read per nudge, not per host', async () => {
    const tag = await currentTag();
    const watch = desiredStateWatch(f.db);
    const answeredAt: number[] = [];
    const polls = Array.from({ length: 50 }, () => poll(tag, 20).then(async (r) => (answeredAt.push(performance.now()), { status: r.status, body: await r.json() })));
    await waitFor('50 hosts waiting', () => watch.waiting === 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answeredAt.length, 0, 'nothing answered while the state is unchanged');
    const readsBefore = watch.reads;
    await putLiveApproved(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'inproc' }] });
    const changedAt = performance.now();
    const answers = await Promise.all(polls);
    assert.ok(answers.every((a) => a.status === 200 && a.body.generation === 1));
    assert.ok(Math.max(...answeredAt) - changedAt < 2_500, `all 50 answered well before the 5 s safety net, so on the nudge (${Math.round(Math.max(...answeredAt) - changedAt)} ms)`);
    assert.ok(watch.reads - readsBefore <= 6, `the watch read the tag ${watch.reads - readsBefore} times for 50 hosts`);
    assert.equal(watch.waiting, 0);
  });

  it('answers 304 with the same tag when the wait ends unchanged', async () => {
    const tag = await currentTag();
    const started = performance.now();
    const response = await poll(tag, 0.5);
    assert.equal(response.status, 304);
    assert.equal(response.headers.get('etag'), tag);
    assert.ok(performance.now() - started >= 450, 'held for the wait asked');
  });

  it('ends a long-poll with the new revoked list when a version is revoked (no generation change)', async () => {
    const tag = await currentTag();
    const pending = poll(tag, 20);
    await waitFor('the host waiting', () => desiredStateWatch(f.db).waiting === 1);
    const v110 = await f.db.moduleVersion.findFirstOrThrow({ where: { version: '1.1.0' } });
    await revokeVersion(f.db, f.actor, v110.id, 'found broken');
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual((await response.json()).revoked, [v110.sm3]);
    assert.notEqual(response.headers.get('etag'), tag);
  });

  it('wakes on a nudge from the cluster bus when another replica wrote (nothing written in this process)', async () => {
    const tag = await currentTag();
    const pending = poll(tag, 20);
    await waitFor('the host waiting', () => desiredStateWatch(f.db).waiting === 1);
    // Another console process's write: straight to the database, no nudge from this process's writers.
    await f.db.fleetGeneration.update({ where: { id: 1 }, data: { generation: { increment: 1 } } });
    const started = performance.now();
    nudgeDesiredStateWatch();
    assert.equal((await pending).status, 200);
    assert.ok(performance.now() - started < 500);
  });

  it('the safety net finds a change nobody nudged for', async () => {
    let tag = '"1.0"';
    const watch = new DesiredStateWatch(async () => tag, 50);
    const waiting = watch.waitForChange('"1.0"', 5_000);
    tag = '"2.0"';
    assert.equal(await waiting, 'changed');
    assert.equal(await watch.waitForChange('"2.0"', 120), 'timeout');
  });

  it('refuses a wait that is not a number of seconds, naming the parameter', async () => {
    const response = await poll(await currentTag(), 'soon');
    assert.equal(response.status, 400);
    assert.match((await response.json()).message, /\?wait= is a number of seconds/);
  });

  it('a host that goes away stops waiting (its connection closed, nothing left held)', async () => {
    const abort = new AbortController();
    const pending = fetch(`${server.url}${FLEET_PATHS.desiredState}?wait=20`, { headers: { 'if-none-match': await currentTag() }, signal: abort.signal }).catch(() => null);
    await waitFor('the host waiting', () => desiredStateWatch(f.db).waiting === 1);
    abort.abort();
    await pending;
    await waitFor('nothing left waiting', () => desiredStateWatch(f.db).waiting === 0, { timeoutMs: 5_000 });
  });
});
