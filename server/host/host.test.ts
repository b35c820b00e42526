import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestArtifactFile } from '../crypto/digest';
import { waitFor } from '../testing/wait-for';
import { createHost, type EmbeddedHost } from './index';
import { exampleArtifacts } from './testing';
import type { DesiredModule } from '../protocol';

const text = (s: string) => Buffer.from(s);
// Host state changes within milliseconds here: poll often, give up soon.
const QUICK = { timeoutMs: 5_000, everyMs: 20 };
let generation = 0;

describe('runtime host: loading, routing, draining, crashes (real modules, real cells)', () => {
  let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;
  let host: EmbeddedHost;
  const apply = (...modules: DesiredModule[]) => host.apply({ generation: ++generation, modules });
  const ledgerConfig = 'alice 1000\nbob 1000\n';

  before(async () => {
    artifacts = await exampleArtifacts();
    host = createHost({ dataDir: artifacts.tempDir(), artifactPath: artifacts.artifactPath });
  });
  after(() => host.stop());

  const status = (module: string, version: string) => host.status().find((s) => s.module === module && s.version === version && s.phase !== 'disposed');

  it('runs two versions side by side, each with its own code, split by weight', async () => {
    await apply({
      module: 'ledger',
      versions: [
        await artifacts.version('ledger', '1.0.0', { weight: 90, config: ledgerConfig }),
        await artifacts.version('ledger', '1.1.0', { weight: 10, config: ledgerConfig }),
      ],
    });
    assert.equal(status('ledger', '1.0.0')?.phase, 'serving');
    assert.equal(status('ledger', '1.1.0')?.phase, 'serving');
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const r = await host.invoke('ledger', text('transfer alice bob 1'));
      assert.equal(r.status, 200, r.reason);
      counts.set(r.version!, (counts.get(r.version!) ?? 0) + 1);
      if (r.version === '1.1.0') assert.match(r.body.toString(), /fee/);
      else assert.doesNotMatch(r.body.toString(), /fee/);
    }
    assert.equal(counts.get('1.0.0'), 900);
    assert.equal(counts.get('1.1.0'), 100);
  });

  it('keeps a gray id on its version', async () => {
    for (const id of ['user-1', 'user-2', 'user-3', 'user-42']) {
      const first = (await host.invoke('ledger', text('balance alice'), { grayId: id })).version;
      for (let i = 0; i < 20; i++) assert.equal((await host.invoke('ledger', text('balance alice'), { grayId: id })).version, first);
    }
  });

  it('answers 422 with the module body for an application code, and unknown modules plainly', async () => {
    const r = await host.invoke('ledger', text('transfer alice nobody 1'));
    assert.equal(r.status, 422);
    assert.ok(r.body.length > 0);
    assert.equal((await host.invoke('nope', text('x'))).status, 503);
  });

  it('hands state off 1.0.0 → 1.1.0 and back without losing a balance', async () => {
    const v100 = await artifacts.version('ledger', '1.0.0', { weight: 100, config: ledgerConfig });
    const v110 = await artifacts.version('ledger', '1.1.0', { weight: 0, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [v100, v110] });
    await host.invoke('ledger', text('open carol 500'));
    await host.invoke('ledger', text('transfer carol alice 123'));
    const before = (await host.invoke('ledger', text('balance carol'))).body.toString();
    await apply({ module: 'ledger', versions: [{ ...v100, weight: 0 }, { ...v110, weight: 100 }], handOff: { from: '1.0.0', to: '1.1.0', id: 'h1' } });
    const moved = await host.invoke('ledger', text('balance carol'));
    assert.equal(moved.version, '1.1.0');
    assert.equal(moved.body.toString(), before);
    assert.match(host.events().map((e) => e.message).join('\n'), /requests held [\d.]+ ms/);
    await apply({ module: 'ledger', versions: [{ ...v100, weight: 100 }, { ...v110, weight: 0 }], handOff: { from: '1.1.0', to: '1.0.0', id: 'h2' } });
    const back = await host.invoke('ledger', text('balance carol'));
    assert.equal(back.version, '1.0.0');
    assert.equal(back.body.toString(), before);
  });

  it('lets a slow in-flight call finish before the version is unloaded', async () => {
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 0, config: ledgerConfig });
    const slow = await artifacts.version('ledger', '1.2.2', { variant: 'slow', weight: 100, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [stable, slow] });
    const inFlight = host.invoke('ledger', text('balance alice'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await apply({ module: 'ledger', versions: [{ ...stable, weight: 100 }] });
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(answer.version, '1.2.2');
    await waitFor('1.2.2 to be unloaded', () => !host.status().some((s) => s.version === '1.2.2'), QUICK);
    assert.ok(host.events().some((e) => e.version === '1.2.2' && e.kind === 'drained'));
  });

  it('reports a drain that runs out of time', async () => {
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 0, config: ledgerConfig });
    const slow = await artifacts.version('ledger', '1.2.2', { variant: 'slow', weight: 100, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [stable, slow], drainDeadlineMs: 30 });
    const inFlight = host.invoke('ledger', text('balance alice'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await apply({ module: 'ledger', versions: [{ ...stable, weight: 100 }], drainDeadlineMs: 30 });
    await inFlight;
    await waitFor('a drain-timeout event of 1.2.2', () => host.events().some((e) => e.version === '1.2.2' && e.kind === 'drain-timeout'), QUICK);
  });

  it('a crashing canary dies alone: every stable request succeeds, new requests leave the dead version at once', async () => {
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 80, config: ledgerConfig });
    const crash = await artifacts.version('ledger', '1.2.4', { variant: 'crash', weight: 20, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [stable, crash] });
    const results = await Promise.all(Array.from({ length: 200 }, () => host.invoke('ledger', text('balance alice'))));
    for (const r of results) {
      if (r.version === '1.0.0') assert.equal(r.status, 200);
      // A 503 is the overload refusal (unsent, safe to retry) while a replaced cell has a burst queued behind it.
      else assert.ok(r.status === 200 || r.status === 502 || (r.status === 503 && /overloaded/.test(r.reason ?? '')), `canary answered ${r.status} ${r.reason ?? ''}`);
    }
    assert.ok(results.some((r) => r.status === 502), 'the crash variant crashed');
    // Only the call each dead cell was running fails; the calls queued behind it ran on the stable instead.
    const deaths = host.events().filter((e) => e.version === '1.2.4' && e.kind === 'crashed').length;
    assert.equal(results.filter((r) => r.status === 502).length, deaths);
    const crashed = host.status().find((s) => s.version === '1.2.4');
    assert.match(crashed?.reason ?? host.events().find((e) => e.kind === 'crashed')!.message, /SIGSEGV/);
    const afterCrash = await Promise.all(Array.from({ length: 50 }, () => host.invoke('ledger', text('balance alice'))));
    assert.ok(afterCrash.every((r) => r.status === 200 && r.version === '1.0.0'));
  });

  it('times out a hanging call with 504 and replaces the cell', async () => {
    const hang = await artifacts.version('ledger', '1.2.5', { variant: 'hang', weight: 100, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [hang], requestTimeoutMs: 300 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await host.invoke('ledger', text('balance alice')));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 504]);
    await waitFor('1.2.5 serving and healthy again', () => status('ledger', '1.2.5')?.phase === 'serving' && status('ledger', '1.2.5')?.healthy === true, { ...QUICK, timeoutMs: 10_000 });
    assert.equal((await host.invoke('ledger', text('balance alice'))).status, 200);
  });

  it('refuses a request unsent with 503 when the calls queued in its cell would outlast the request timeout', async () => {
    const slow = await artifacts.version('ledger', '1.2.2', { variant: 'slow', weight: 100, config: ledgerConfig });
    await apply({ module: 'ledger', versions: [slow], requestTimeoutMs: 300 });
    assert.equal((await host.invoke('ledger', text('balance alice'))).status, 200, 'one request shows a call takes ~250 ms');
    const burst = await Promise.all(Array.from({ length: 10 }, () => host.invoke('ledger', text('transfer alice bob 1'))));
    // The first calls queue (one call of ~250 ms fits under 300 ms), the rest are refused: which one is the first
    // refused depends on how long this machine took per call.
    const sent = burst.filter((r) => r.status === 200).length;
    assert.ok(sent >= 1 && sent < 10, `${sent} of 10 sent`);
    assert.deepEqual(burst.map((r) => r.status), burst.map((_, i) => (i < sent ? 200 : 503)));
    assert.match(burst[sent].reason ?? '', /^version 1\.2\.2 is overloaded: about \d+ ms of calls queued, over the 300 ms request timeout; not sent$/);
    assert.equal((await host.invoke('ledger', text('balance bob'))).body.toString(), `bob ${1000 + sent}`, 'only the requests sent moved money');
  });

  it('never serves a version whose init crashes, whose self-test fails, or that has static TLS', async () => {
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 0, config: ledgerConfig });
    for (const [version, variant, pattern] of [
      ['1.2.6', 'init-crash', /died|crash|SIGSEGV/i],
      ['1.2.1', 'self-test-fail', /hp_self_test returned/],
      ['1.2.11', 'static-tls', /static \(initial-exec\) TLS/],
      ['1.2.8', 'wrong-abi', /hp_abi_version\(\) is 2/],
      ['1.2.9', 'wrong-name', /hp_module_name\(\) is "ledgerx"/],
    ] as const) {
      const bad = await artifacts.version('ledger', version, { variant, weight: 100, config: ledgerConfig });
      await apply({ module: 'ledger', versions: [{ ...stable, weight: 0 }, bad] });
      const s = status('ledger', version);
      assert.equal(s?.phase, 'failed', `${variant}: ${JSON.stringify(s)}`);
      assert.match(s!.reason ?? '', pattern);
      const r = await host.invoke('ledger', text('balance alice'));
      assert.notEqual(r.version, version);
    }
  });

  it('runs a Go module in its own cell and refuses it in-process', async (t) => {
    let go;
    try {
      go = await artifacts.version('edge-gateway', '1.0.0', { weight: 100 });
    } catch {
      t.skip('go is not installed');
      return;
    }
    await apply({ module: 'edge-gateway', versions: [go] });
    assert.equal(status('edge-gateway', '1.0.0')?.phase, 'serving');
    assert.ok(status('edge-gateway', '1.0.0')?.goRuntime);
    await apply({ module: 'edge-gateway', versions: [{ ...go, isolation: 'inproc' }] });
    const inproc = host.status().find((s) => s.module === 'edge-gateway' && s.isolation === 'inproc');
    assert.equal(inproc?.phase, 'failed');
    assert.match(inproc!.reason!, /own process|Go/);
    await apply();
  });

  it('unloads an in-process C module for real, and reports one that stays resident', async () => {
    const plain = await artifacts.version('ledger', '1.0.0', { weight: 100, isolation: 'inproc', config: ledgerConfig });
    await apply({ module: 'ledger', versions: [plain] });
    assert.equal((await host.invoke('ledger', text('balance alice'))).status, 200);
    const resident = await artifacts.version('ledger', '1.2.12', { variant: 'resident', weight: 100, isolation: 'inproc', config: ledgerConfig });
    await apply({ module: 'ledger', versions: [resident] });
    await waitFor('1.0.0 disposed', () => host.events().some((e) => e.version === '1.0.0' && e.kind === 'disposed'), QUICK);
    await apply({ module: 'ledger', versions: [{ ...plain, weight: 100 }] });
    await waitFor('1.2.12 reported resident', () => status('ledger', '1.2.12')?.phase === 'resident', QUICK);
  });
});

describe('runtime host: artifacts that do not match their SM3', () => {
  it('fails that version alone, as load-failed with the reason; the rest of the state applies and serves', async () => {
    const artifacts = await exampleArtifacts();
    const config = 'alice 1000\n';
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 90, config });
    const swapped = await artifacts.version('ledger', '1.1.0', { weight: 10, config });
    const crash = await artifacts.version('ledger', '1.2.4', { variant: 'crash', weight: 0 });
    // The store hands out the crash build's bytes under 1.1.0's digest, as a file overwritten after acceptance would.
    const artifactPath = (sm3: string) => artifacts.artifactPath(sm3 === swapped.sm3 ? crash.sm3 : sm3);
    const host = createHost({ dataDir: artifacts.tempDir(), artifactPath });
    try {
      await host.apply({ generation: 1, modules: [{ module: 'ledger', versions: [stable, swapped] }] });
      await waitFor('1.1.0 to fail', () => host.status().some((s) => s.version === '1.1.0' && s.phase === 'failed'), QUICK);
      const failed = host.events().find((e) => e.kind === 'load-failed');
      assert.equal(failed?.version, '1.1.0');
      assert.match(failed?.message ?? '', new RegExp(`^artifact ${swapped.sm3} arrived with SM3 ${crash.sm3}: refused$`));
      const answers = await Promise.all(Array.from({ length: 20 }, () => host.invoke('ledger', text('balance alice'))));
      assert.deepEqual(new Set(answers.map((a) => `${a.status} ${a.version}`)), new Set(['200 1.0.0']));
    } finally {
      await host.stop();
    }
  });
});

describe('runtime host: a cached artifact changed on disk', () => {
  it('fails the version when it is loaded again and removes the copy; the next generation fetches it afresh and serves it', async () => {
    const artifacts = await exampleArtifacts();
    const config = 'alice 1000\n';
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 100, config });
    const canary = await artifacts.version('ledger', '1.1.0', { weight: 0, config });
    const other = await artifacts.version('ledger', '1.2.4', { variant: 'crash', weight: 0 });
    const fetched: string[] = [];
    const dataDir = artifacts.tempDir();
    const host = createHost({ dataDir, artifactPath: (sm3) => (fetched.push(sm3), artifacts.artifactPath(sm3)) });
    const canaryStatus = () => host.status().find((s) => s.version === '1.1.0' && s.phase !== 'disposed');
    const fetches = () => fetched.filter((sm3) => sm3 === canary.sm3).length;
    try {
      await host.apply({ generation: 1, modules: [{ module: 'ledger', versions: [stable, canary] }] });
      assert.equal(canaryStatus()?.phase, 'serving');
      // Unloaded first, so that the overwrite below changes no running cell's mapped file.
      await host.apply({ generation: 2, modules: [{ module: 'ledger', versions: [stable] }] });
      await waitFor('the canary to be gone', () => !canaryStatus(), QUICK);

      // Someone with write access to the disk replaces the cached copy's bytes in place.
      const cached = path.join(dataDir, 'artifacts', `${canary.sm3}.so`);
      chmodSync(cached, 0o644);
      writeFileSync(cached, readFileSync(artifacts.artifactPath(other.sm3)));
      await host.apply({ generation: 3, modules: [{ module: 'ledger', versions: [stable, canary] }] });
      assert.equal(canaryStatus()?.phase, 'failed');
      const failed = host.events().filter((e) => e.kind === 'load-failed');
      assert.deepEqual(failed.map((e) => [e.version, e.message]), [
        ['1.1.0', `cached artifact ${cached} no longer hashes to its SM3 (${other.sm3}): refused to load it and removed it`],
      ]);
      assert.equal(existsSync(cached), false);
      assert.equal(fetches(), 1, 'the bad copy was loaded from the cache, not fetched');
      assert.equal((await host.invoke('ledger', text('balance alice'))).version, '1.0.0');

      await host.apply({ generation: 4, modules: [{ module: 'ledger', versions: [stable, canary] }] });
      assert.equal(canaryStatus()?.phase, 'serving');
      assert.equal(fetches(), 2);
      assert.equal((await digestArtifactFile(cached)).sm3, canary.sm3);
    } finally {
      await host.stop();
    }
  });
});

describe('runtime host: cell caps', () => {
  it('a canary leaking memory dies at the host’s cell cap, named in its reason, while the stable serves on', async () => {
    const artifacts = await exampleArtifacts();
    const host = createHost({ dataDir: artifacts.tempDir(), artifactPath: artifacts.artifactPath, cellLimits: { memoryMiB: 192, openFiles: 256 } });
    try {
      const config = 'alice 1000\n';
      await host.apply({
        generation: 1,
        modules: [{ module: 'ledger', versions: [
          await artifacts.version('ledger', '1.1.0', { weight: 50, config }),
          await artifacts.version('ledger', '1.2.14', { variant: 'leak-memory', weight: 50, config }),
        ] }],
      });
      const statuses: number[] = [];
      for (let i = 0; i < 600 && !host.events().some((e) => e.kind === 'crashed'); i++) {
        const r = await host.invoke('ledger', text('balance alice'));
        if (r.version === '1.1.0') assert.equal(r.status, 200, r.reason);
        statuses.push(r.status);
      }
      const crash = host.events().find((e) => e.kind === 'crashed');
      assert.ok(crash, `the leaking canary never died (${statuses.length} requests)`);
      assert.equal(crash.version, '1.2.14');
      assert.match(crash.message, /^cell died \(signal SIGABRT; memory 192 MiB, 256 open files\); last output: .*out of memory/s);
      assert.equal((await host.invoke('ledger', text('balance alice'))).status, 200);
    } finally {
      await host.stop();
    }
  });
});
