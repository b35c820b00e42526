import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DesiredState, DesiredVersion } from '../protocol';
import { BreakGlassRefused, LocalBreakGlass } from './break-glass';
import { ConsoleApprovals } from './console-approvals';
import { Host } from './host';
import { createHostHttpServer } from './http-server';
import { exampleArtifacts } from './testing';

// The host's side of the break-glass (break-glass.ts) on a real host: which version it goes back to, what it refuses,
// and that a restart neither forgets the target nor undoes a break-glass the console has not been told of.

let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;
let v100: DesiredVersion;
let v110: DesiredVersion;
const hosts: Host[] = [];

before(async () => {
  artifacts = await exampleArtifacts();
  v100 = await artifacts.version('ledger', '1.0.0', { isolation: 'inproc' });
  v110 = await artifacts.version('ledger', '1.1.0', { isolation: 'inproc' });
});
after(async () => {
  for (const host of hosts) await host.stop();
});

async function hostWithConsole(dataDir = artifacts.tempDir()) {
  const host = new Host({ dataDir, fetchArtifact: async (sm3) => createReadStream(artifacts.artifactPath(sm3)) }).start();
  hosts.push(host);
  const approvals = await new ConsoleApprovals(path.join(dataDir, 'console-approved.json')).load();
  const breakGlass = await new LocalBreakGlass(dataDir, host, approvals).load();
  // What the agent does with every state the console sends.
  const fromConsole = async (state: DesiredState) => {
    await approvals.record(state);
    await breakGlass.observe(state);
    await host.applyDesiredState(state);
  };
  const serving = async () => (await host.invoke('ledger', Buffer.from('balance alice'))).version;
  return { host, breakGlass, fromConsole, serving, dataDir };
}

const ledger = (generation: number, ...versions: DesiredVersion[]): DesiredState => ({ generation, modules: [{ module: 'ledger', versions }] });

test('during a canary the break-glass goes to the stable; after a promotion to the stable before; a rollback ends the road back', async () => {
  const h = await hostWithConsole();
  await h.fromConsole(ledger(1, { ...v100, weight: 100 }));
  await assert.rejects(h.breakGlass.rollback('ledger', 'nothing earlier'), (error: Error) => error instanceof BreakGlassRefused && /never had this host run an earlier stable of ledger than 1\.0\.0/.test(error.message));
  await h.fromConsole(ledger(2, { ...v100, weight: 90 }, { ...v110, weight: 10 }));
  const duringCanary = await h.breakGlass.rollback('ledger', 'canary errors');
  assert.deepEqual([duringCanary.from?.version, duringCanary.to.version], ['1.1.0', '1.0.0']);
  assert.equal(await h.serving(), '1.0.0');
  await assert.rejects(h.breakGlass.rollback('ledger', 'twice'), /rolled back here already and the console has not been told yet/);
  await h.breakGlass.settle(duringCanary.id);

  await h.fromConsole(ledger(3, { ...v100, weight: 0 }, { ...v110, weight: 100 }));
  const afterPromotion = await h.breakGlass.rollback('ledger', 'double charges');
  assert.deepEqual([afterPromotion.from?.version, afterPromotion.to.version, afterPromotion.generation], ['1.1.0', '1.0.0', 3]);
  assert.equal(await h.serving(), '1.0.0');
  await h.breakGlass.settle(afterPromotion.id);

  // The console adopted it: back on 1.0.0, so 1.1.0 is no stable to return to.
  await h.fromConsole(ledger(4, { ...v100, weight: 100 }, { ...v110, weight: 0 }));
  await assert.rejects(h.breakGlass.rollback('ledger', 'forward?'), /never had this host run an earlier stable of ledger than 1\.0\.0/);
  await assert.rejects(h.breakGlass.rollback('risk-rules', 'not here'), /risk-rules is not in the desired state this host last had from the console/);
  await assert.rejects(h.breakGlass.rollback('ledger', 'y'.repeat(2001)), /the reason is 2001 characters; the console takes at most 2000/);
});

test('attack: a break-glass cannot return to a stable the console has since revoked', async () => {
  const h = await hostWithConsole();
  await h.fromConsole(ledger(1, { ...v100, weight: 100 }));
  await h.fromConsole({ ...ledger(2, { ...v110, weight: 100 }), revoked: [v100.sm3] });
  await assert.rejects(h.breakGlass.rollback('ledger', 'revoked target'), /was revoked by the console: a local override cannot load it/);
  assert.equal(await h.serving(), '1.1.0');
});

test('a restart keeps the stables and re-applies a break-glass the console was not told of', async () => {
  const h = await hostWithConsole();
  await h.fromConsole(ledger(1, { ...v100, weight: 100 }));
  await h.fromConsole(ledger(2, { ...v100, weight: 0 }, { ...v110, weight: 100 }));
  const made = await h.breakGlass.rollback('ledger', 'double charges');
  await h.host.stop();

  const again = await hostWithConsole(h.dataDir);
  // As the agent does with no console: the console's last state from disk first…
  await again.host.applyDesiredState(ledger(2, { ...v100, weight: 0 }, { ...v110, weight: 100 }));
  assert.equal(await again.serving(), '1.1.0');
  // …then the break-glass over it.
  assert.equal(await again.breakGlass.restore(), true);
  assert.equal(await again.serving(), '1.0.0');
  assert.deepEqual(again.breakGlass.pending().map((p) => p.id), [made.id], 'still to be told');
});

test('POST /v1/break-glass: 404 on a host without a console, 400 for a body without module and reason', async () => {
  const h = await hostWithConsole();
  const serve = async (breakGlass?: LocalBreakGlass) => {
    const server = createHostHttpServer({ host: h.host, adminToken: 'admin', breakGlass });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/break-glass`, { method: 'POST', headers: { authorization: 'Bearer admin' }, body });
    return { post, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  };
  const standalone = await serve();
  try {
    const response = await standalone.post(JSON.stringify({ module: 'ledger', reason: 'no console' }));
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: string }).error, /without a console it has no stable to go back to/);
  } finally {
    await standalone.close();
  }
  const withConsole = await serve(h.breakGlass);
  try {
    assert.equal((await withConsole.post('{"module": "ledger"}')).status, 400);
    assert.equal((await withConsole.post('not json')).status, 400);
    assert.equal((await withConsole.post(JSON.stringify({ module: 'ledger', reason: 'x'.repeat(20_000) }))).status, 413);
    const refused = await withConsole.post(JSON.stringify({ module: 'ledger', reason: 'nothing sent yet' }));
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /ledger is not in the desired state this host last had from the console/);
  } finally {
    await withConsole.close();
  }
});
