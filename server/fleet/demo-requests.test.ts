import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoRequestSource } from './demo-requests';

// A seeded generator, so the mix is the same on every run.
function seeded(seed = 42) {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe('demo requests', () => {
  it('opens the ledger accounts first, then sends balance, transfer, open and total in the ledger grammar', () => {
    const next = demoRequestSource('ledger', seeded())!;
    const requests = Array.from({ length: 2_000 }, next);
    assert.ok(requests.slice(0, 20).every((r) => /^open demo-\d\d 1000000$/.test(r.body) && !r.grayId));
    const grammar = /^(open demo-\d\d 1000000|balance demo-\d\d|transfer (demo-\d\d) (?!\2)demo-\d\d \d{1,3}|total)$/;
    for (const r of requests) assert.match(r.body, grammar);
    const kinds = new Set(requests.map((r) => r.body.split(' ')[0]));
    assert.deepEqual([...kinds].sort(), ['balance', 'open', 'total', 'transfer']);
    const gray = requests.filter((r) => r.grayId).length / requests.length;
    assert.ok(gray > 0.05 && gray < 0.15, `gray share ${gray}`);
  });

  it('scores payments for risk-rules and knows no other module', () => {
    const next = demoRequestSource('risk-rules', seeded())!;
    for (let i = 0; i < 200; i++) assert.match(next().body, /^amount=\d+;country=[A-Z]{2};mcc=\d{4};hour=(\d|1\d|2[0-3])$/);
    assert.equal(demoRequestSource('key-vault'), null);
  });

  it('sends the Go gateway HTTP request lines for each of its routes, and a few for a route it does not have', () => {
    const next = demoRequestSource('edge-gateway', seeded())!;
    const requests = Array.from({ length: 1_000 }, next).map((r) => r.body);
    const grammar =
      /^(GET \/accounts\/demo-\d\d|POST \/transfers\?from=(demo-\d\d)&to=(?!\2)demo-\d\d&amount=\d{1,3}|POST \/payments\/score\?amount=\d+&country=[A-Z]{2}&mcc=\d{4}&hour=\d{1,2}|GET \/statements\/latest)$/;
    for (const body of requests) assert.match(body, grammar);
    const routes = new Set(requests.map((body) => body.split(/[ ?]/)[1].split('/')[1]));
    assert.deepEqual([...routes].sort(), ['accounts', 'payments', 'statements', 'transfers']);
  });
});
