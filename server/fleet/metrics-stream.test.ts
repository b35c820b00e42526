import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../db/client';
import type { MetricSample } from '../protocol';
import { applyMetricsEvent, applyRowsEvent, type MetricsChart } from './live-apply';
import { RowDiffer } from './live-rows';
import { FleetMetrics } from './metrics-store';
import { metricsEvents, metricsWindow, type MetricsEvent, type StreamClock } from './metrics-stream';

const START = Date.parse('2026-11-22T10:00:00.400Z');
const WINDOW = 60;
// Every second of the test is in memory, so the window never reads rollups from the database.
const noDb = {} as Db;

function sample(second: number, requests: number, version = '1.0.0'): MetricSample {
  return {
    module: 'ledger', version, second: new Date(second * 1000).toISOString(),
    requests, ok: requests, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 100, p95: 200, p99: 300, max: 400,
  };
}

/** A store with hosts reporting each second, and a clock the stream's sleeps move forward. */
function fleet() {
  let now = START;
  const store = new FleetMetrics(START - 3_600_000);
  // Request counts that name their second, so a gap or a second twice shows in the sums.
  const report = (second: number) => store.record('host-a', [sample(second, second % 1000)], now);
  const nowSecond = () => Math.floor(now / 1000);
  for (let s = nowSecond() - 120; s <= nowSecond(); s++) report(s);
  const clock: StreamClock = {
    now: () => now,
    sleep: async (ms) => {
      // Hosts keep reporting while the stream sleeps: each new second, including the still-incomplete current one.
      const before = nowSecond();
      now += ms;
      for (let s = before + 1; s <= nowSecond(); s++) report(s);
    },
  };
  return { store, clock, report, nowSecond, advance: (ms: number) => clock.sleep(ms) };
}

async function take(stream: AsyncGenerator<{ id: string; event: MetricsEvent }>, count: number) {
  const events: { id: string; event: MetricsEvent }[] = [];
  for await (const e of stream) {
    events.push(e);
    if (events.length === count) break;
  }
  return events;
}

const seconds = (chart: MetricsChart | undefined) => chart!.versions.flatMap((v) => v.points.map((p) => p.t / 1000));

describe('metrics by push: increments only', () => {
  it('sends the window once, ending two seconds back (the current second is incomplete), then only each new second', async () => {
    const f = fleet();
    const events = await take(metricsEvents(noDb, f.store, { module: 'ledger', seconds: WINDOW }, f.clock), 4);
    const [first, ...rest] = events;
    assert.equal(first.event.kind, 'window');
    const last = f.nowSecond() - 3 - 2; // three sleeps later, two seconds back from when the window was cut
    assert.equal(first.id, String(last));
    const firstSeconds = first.event.versions.flatMap((v) => v.points.map((p) => p.t / 1000));
    assert.equal(firstSeconds.length, WINDOW);
    assert.equal(Math.max(...firstSeconds), last, 'the window leaves out the current and the previous second');
    for (const [i, e] of rest.entries()) {
      assert.equal(e.event.kind, 'append');
      assert.deepEqual(e.event.versions.flatMap((v) => v.points.map((p) => p.t / 1000)), [last + i + 1], 'one new second, never the window again');
      assert.equal(e.id, String(last + i + 1));
    }
    let chart: MetricsChart | undefined;
    for (const e of events) chart = applyMetricsEvent(chart, e.event, WINDOW);
    const fresh = await metricsWindow(noDb, f.store, { module: 'ledger', seconds: WINDOW }, f.clock.now());
    assert.deepEqual(chart!.versions, fresh.versions, 'the chart built from increments equals the window cut now');
  });

  it('a reconnect with lastEventId gets exactly the seconds missed: no gap, no second twice', async () => {
    const f = fleet();
    const input = { module: 'ledger', seconds: WINDOW };
    const before = await take(metricsEvents(noDb, f.store, input, f.clock), 3);
    let chart: MetricsChart | undefined;
    for (const e of before) chart = applyMetricsEvent(chart, e.event, WINDOW);
    const lastEventId = before.at(-1)!.id;
    await f.advance(7_000); // the connection was down for seven seconds, the hosts kept reporting

    const [resumed, next] = await take(metricsEvents(noDb, f.store, { ...input, lastEventId }, f.clock), 2);
    assert.equal(resumed.event.kind, 'append', 'resuming does not re-download the window');
    const missed = resumed.event.versions.flatMap((v) => v.points.map((p) => p.t / 1000));
    assert.deepEqual(missed, Array.from({ length: missed.length }, (_, i) => Number(lastEventId) + 1 + i));
    assert.ok(missed.length >= 7, `the seven seconds missed arrive: ${missed.join(',')}`);
    chart = applyMetricsEvent(chart, resumed.event, WINDOW);
    chart = applyMetricsEvent(chart, next.event, WINDOW);

    const got = seconds(chart);
    assert.equal(new Set(got).size, got.length, 'no second twice');
    assert.equal(got.length, WINDOW, 'no gap: the window is whole');
    const fresh = await metricsWindow(noDb, f.store, input, f.clock.now());
    assert.deepEqual(chart!.versions, fresh.versions);
  });

  it('a lastEventId that is garbled, in the future or older than the window gets the whole window', async () => {
    const f = fleet();
    for (const lastEventId of ['abc', String(f.nowSecond() + 60), String(f.nowSecond() - 3_000), '']) {
      const [first] = await take(metricsEvents(noDb, f.store, { module: 'ledger', seconds: WINDOW, lastEventId }, f.clock), 1);
      assert.equal(first.event.kind, 'window', `lastEventId "${lastEventId}"`);
    }
  });

  it('a burst a busy host reports late, after the chart drew its second, is sent again whole and replaces that point', async () => {
    const f = fleet();
    const stream = metricsEvents(noDb, f.store, { module: 'ledger', seconds: WINDOW }, f.clock);
    const next = async () => (await stream.next()).value!;
    const first = await next();
    let chart = applyMetricsEvent(undefined, first.event, WINDOW);
    const drawn = Number(first.id);
    const rpsAt = (second: number) => chart!.versions.find((v) => v.version === '1.0.0')!.points.find((p) => p.t === second * 1000)?.rps;
    assert.equal(rpsAt(drawn), drawn % 1000, 'drawn with host-a alone');
    // host-b was busy serving the burst: its report for that second comes only now, seconds after the chart drew it.
    f.store.record('host-b', [sample(drawn, 5000)], f.clock.now());
    const redrawn = await next();
    assert.equal(redrawn.event.kind, 'append');
    const sent = redrawn.event.versions.flatMap((v) => v.points.map((p) => p.t / 1000));
    assert.ok(sent.includes(drawn), `the late second is sent again: ${sent.join(',')}`);
    chart = applyMetricsEvent(chart, redrawn.event, WINDOW);
    assert.equal(rpsAt(drawn), (drawn % 1000) + 5000, 'the point now holds both hosts');
    const got = seconds(chart);
    assert.equal(new Set(got).size, got.length, 'no second twice');
    const following = await next();
    assert.ok(!following.event.versions.some((v) => v.points.some((p) => p.t === drawn * 1000)), 'and only once');
    chart = applyMetricsEvent(chart, following.event, WINDOW);
    assert.deepEqual(chart!.versions, (await metricsWindow(noDb, f.store, { module: 'ledger', seconds: WINDOW }, f.clock.now())).versions, 'the chart equals the window cut now');
    await stream.return(undefined);
  });

  it('a version that appears mid-stream arrives as its own seconds; seconds out of the window are dropped', async () => {
    const f = fleet();
    const stream = metricsEvents(noDb, f.store, { module: 'ledger', seconds: 10 }, f.clock);
    const [first] = await take(stream, 1);
    let chart = applyMetricsEvent(undefined, first.event, 10);
    const canarySecond = Number(first.id) + 1;
    f.store.record('host-b', [sample(canarySecond, 5, '1.1.0')], f.clock.now());
    const [next] = await take(metricsEvents(noDb, f.store, { module: 'ledger', seconds: 10, lastEventId: first.id }, f.clock), 1);
    chart = applyMetricsEvent(chart, next.event, 10);
    assert.deepEqual(chart!.versions.map((v) => v.version), ['1.0.0', '1.1.0']);
    assert.equal(chart!.versions[0].points.length, 10);
    assert.ok(chart!.versions[0].points.every((p) => p.t >= chart!.from));
  });
});

describe('tables by push: changed rows only', () => {
  const key = (row: { id: string }) => row.id;

  it('sends every row first, nothing when nothing changed, then only the changed and removed rows', () => {
    const differ = new RowDiffer<{ id: string; v: number }, { online: number }>(key);
    const first = differ.diff({ rows: [{ id: 'a', v: 1 }, { id: 'b', v: 1 }], meta: { online: 2 } })!;
    assert.deepEqual(first, { reset: true, upserts: [{ id: 'a', v: 1 }, { id: 'b', v: 1 }], removed: [], order: ['a', 'b'], meta: { online: 2 } });
    assert.equal(differ.diff({ rows: [{ id: 'a', v: 1 }, { id: 'b', v: 1 }], meta: { online: 2 } }), null);
    const changed = differ.diff({ rows: [{ id: 'a', v: 2 }, { id: 'b', v: 1 }], meta: { online: 2 } })!;
    assert.deepEqual(changed, { reset: false, upserts: [{ id: 'a', v: 2 }], removed: [], order: null, meta: null });
    const removed = differ.diff({ rows: [{ id: 'a', v: 2 }], meta: { online: 1 } })!;
    assert.deepEqual(removed, { reset: false, upserts: [], removed: ['b'], order: ['a'], meta: { online: 1 } });

    let table = applyRowsEvent(undefined, first, key);
    for (const event of [changed, removed]) table = applyRowsEvent(table, event, key);
    assert.deepEqual(table, { rows: [{ id: 'a', v: 2 }], meta: { online: 1 } });
  });
});
