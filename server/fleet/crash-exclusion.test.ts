import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import type { DesiredModule } from '../protocol';
import { crashCulprit, isolateVersion, recordHostDeath, restartDelayMs } from './crash-exclusion';
import { currentGeneration, readDesiredModule } from './desired-state';
import { EmbeddedHostSupervisor } from './embedded-host';
import { putLiveApproved } from '../testing/approved-desired';

const ledger: DesiredModule = {
  module: 'ledger',
  versions: [
    { version: '1.0.0', sm3: 'a'.repeat(64), weight: 90, isolation: 'inproc' },
    { version: '1.2.4', sm3: 'b'.repeat(64), weight: 10, isolation: 'inproc', config: 'alice 10' },
  ],
  requestTimeoutMs: 500,
};

describe('crash-marker exclusion (pure)', () => {
  it('blames the version named by the marker only when the host died of a signal', () => {
    assert.deepEqual(crashCulprit({ code: null, signal: 'SIGSEGV' }, 'ledger@1.2.4' + ' '.repeat(148)), { module: 'ledger', version: '1.2.4' });
    assert.deepEqual(crashCulprit({ code: null, signal: 'SIGABRT' }, 'risk-rules@2.0.0-rc.1\n'), { module: 'risk-rules', version: '2.0.0-rc.1' });
    assert.equal(crashCulprit({ code: null, signal: 'SIGSEGV' }, ' '.repeat(160)), null, 'a blank marker: no inproc call was running');
    assert.equal(crashCulprit({ code: null, signal: 'SIGSEGV' }, ''), null);
    assert.equal(crashCulprit({ code: 1, signal: null }, 'ledger@1.2.4'), null, 'an ordinary exit is not a native crash');
  });

  it('moves only the culprit into a process cell and keeps everything else as it was', () => {
    const isolated = isolateVersion(ledger, '1.2.4');
    assert.deepEqual(isolated, {
      ...ledger,
      versions: [ledger.versions[0], { ...ledger.versions[1], isolation: 'process' }],
    });
    assert.equal(isolateVersion(isolated, '1.2.4'), null, 'already isolated: nothing to change');
    assert.equal(isolateVersion(ledger, '9.9.9'), null, 'no longer desired: nothing to change');
    assert.equal(isolateVersion(null, '1.2.4'), null);
  });

  it('waits 1 s, 2 s, 4 s … and never more than 30 s between restarts', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('crash-marker exclusion (recorded) and the supervisor that acts on it', () => {
  let f: ConsoleFixture;
  let supervisor: EmbeddedHostSupervisor | undefined;
  before(async () => {
    f = await createConsoleFixture();
    for (const version of ['1.0.0', '1.1.0']) {
      const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', version), module: 'ledger', version }));
      assert.equal(result.outcome, 'accepted', result.message);
    }
    await f.db.host.create({ data: { id: 'embedded', name: 'embedded' } });
    await putLiveApproved(f.db, f.actor, {
      module: 'ledger',
      versions: [{ version: '1.0.0', weight: 80, isolation: 'inproc' }, { version: '1.1.0', weight: 20, isolation: 'inproc' }],
    });
  });
  after(() => supervisor?.stop());

  it('records the death, and isolates the culprit in the same transaction with its own audit event', async () => {
    const generation = await currentGeneration(f.db);
    const result = await recordHostDeath(f.db, 'embedded', { code: null, signal: 'SIGSEGV' }, 'ledger@1.1.0', 'Segmentation fault');
    assert.deepEqual(result, { culprit: { module: 'ledger', version: '1.1.0' }, isolated: true });
    assert.equal(await currentGeneration(f.db), generation + 1);
    assert.deepEqual((await readDesiredModule(f.db, 'ledger'))!.versions.map((v) => [v.version, v.weight, v.isolation]), [
      ['1.0.0', 80, 'inproc'],
      ['1.1.0', 20, 'process'],
    ]);
    const event = await f.db.hostEvent.findFirstOrThrow({ where: { kind: 'host-crashed' } });
    assert.match(event.message, /killed by SIGSEGV during an in-process call into ledger 1\.1\.0/);
    const crashed = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'host.process_crashed' } });
    assert.equal(JSON.parse(crashed.details).culprit, 'ledger@1.1.0');
    const isolated = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'runtime.version_isolated' } });
    assert.equal(isolated.targetId, 'ledger@1.1.0');
    assert.equal(isolated.seq, crashed.seq + 1);
  });

  it('records a death without a culprit and changes no desired state; a crash loop is audited once', async () => {
    const generation = await currentGeneration(f.db);
    const audited = () => f.db.auditEvent.count({ where: { action: 'host.process_crashed' } });
    const before = await audited();
    const result = await recordHostDeath(f.db, 'embedded', { code: 1, signal: null }, '', 'Error: boom');
    assert.deepEqual(result, { culprit: null, isolated: false });
    assert.equal(await currentGeneration(f.db), generation);
    await recordHostDeath(f.db, 'embedded', { code: 1, signal: null }, '', 'Error: boom', 2);
    assert.equal(await audited(), before + 1);
    assert.equal(await f.db.hostEvent.count({ where: { kind: 'host-crashed', module: null } }), 2);
  });

  // A stand-in host (the real one has its own tests in server/host/): its first run dies of SIGSEGV with the
  // marker naming ledger 1.0.0, the second stays up.
  it('restarts a crashed host after 1 s with the culprit isolated; its join token goes by a 0600 file, never its command line', async () => {
    const hostDir = path.join(f.dataDir, 'host');
    const runs = path.join(f.work, 'runs');
    const entry = path.join(f.work, 'stand-in-host.mjs');
    writeFileSync(
      entry,
      [
        "import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';",
        'const flag = (name) => process.argv[process.argv.indexOf(name) + 1];',
        `appendFileSync(${JSON.stringify(runs)}, readFileSync(flag('--join-token-file'), 'utf8').trim() + '\\n');`,
        `if (readFileSync(${JSON.stringify(runs)}, 'utf8').trim().split('\\n').length === 1) {`,
        "  writeFileSync(flag('--crash-marker'), 'ledger@1.0.0');",
        "  process.kill(process.pid, 'SIGSEGV');",
        '} else setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const logs: string[] = [];
    supervisor = await new EmbeddedHostSupervisor({ db: f.db, hostDir, projectRoot: process.cwd(), fleetPort: 1, caCertificatePem: 'CA', hostPort: 2, log: (l) => logs.push(l), entry }).start();
    const deadline = Date.now() + 15_000;
    const started = () => (existsSync(runs) ? readFileSync(runs, 'utf8').trim().split('\n') : []);
    const restarted = () => supervisor!.status().state === 'running' && started().length === 2;
    while (Date.now() < deadline && !restarted()) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual([supervisor.status().state, supervisor.status().restarts], ['running', 1], logs.join('\n'));
    assert.match(supervisor.status().lastExit!, /killed by SIGSEGV/);
    assert.equal((await readDesiredModule(f.db, 'ledger'))!.versions[0].isolation, 'process');
    assert.ok(logs.some((l) => /ledger 1\.0\.0 crashed the embedded host/.test(l)), logs.join('\n'));
    const tokens = started();
    assert.equal(tokens[0], tokens[1]);
    const commandLine = readFileSync(`/proc/${supervisor.status().pid}/cmdline`, 'utf8');
    assert.match(tokens[0], /^hpj_/);
    assert.ok(commandLine.includes('--join-token-file') && !commandLine.includes(tokens[0]), 'the embedded host gets its join token by a file, never on its command line');
    assert.equal(readFileSync(path.join(hostDir, 'join-token'), 'utf8').trim(), tokens[0]);
    assert.equal(statSync(path.join(hostDir, 'join-token')).mode & 0o777, 0o600);
  });

  it('a stop() that comes while a crash is being recorded restarts nothing: no host outlives its console', async () => {
    supervisor?.stop();
    const hostDir = path.join(f.work, 'host-stopped-mid-record');
    const runs = path.join(f.work, 'runs-stopped-mid-record');
    const entry = path.join(f.work, 'crashing-host.mjs');
    writeFileSync(entry, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(runs)}, 'run\\n');\nsetTimeout(() => process.kill(process.pid, 'SIGSEGV'), 300);\n`);
    // The death is recorded in a transaction held open until the test lets it go: stop() lands inside it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let recording = false;
    const slowDb = new Proxy(f.db, {
      get: (target, property, receiver) =>
        property === '$transaction' && started
          ? async (...args: Parameters<typeof f.db.$transaction>) => {
              recording = true;
              await held;
              return (target.$transaction as (...a: typeof args) => unknown)(...args);
            }
          : Reflect.get(target, property, receiver),
    });
    const stopped = await new EmbeddedHostSupervisor({ db: slowDb, hostDir, projectRoot: process.cwd(), fleetPort: 1, caCertificatePem: 'CA', hostPort: 2, log: () => undefined, entry }).start();
    started = true;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !recording) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(recording, 'the first run crashed and its death is being recorded');
    stopped.stop();
    release();
    // The restart would come 1 s after the recording; 2.5 s later there is still one run and nothing running.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(readFileSync(runs, 'utf8'), 'run\n');
    assert.equal(stopped.status().state, 'stopped');
  });
});
