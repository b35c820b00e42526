// ModuleLibrary against real modules built by scripts/build-modules.mjs. Every test closes what it opens: glibc
// shares one instance per file within a process, so a forgotten handle would keep state (and mappings) alive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildModules } from '../../scripts/build-modules.mjs';
import { HP_BUFFER_TOO_SMALL, HP_OK, isLibraryResident, ModuleLibrary } from './module-library.ts';

const OUT_DIR = fileURLToPath(new URL('../../build/modules/', import.meta.url));
const LEDGER_1_0 = path.join(OUT_DIR, 'ledger-1.0.0.so');
const LEDGER_1_1 = path.join(OUT_DIR, 'ledger-1.1.0.so');
const RISK_RULES = path.join(OUT_DIR, 'risk-rules-1.0.0.so');
let resident: string;
let scratchDir: string;

const text = (s: string) => Buffer.from(s);
const seedAccounts = (n: number) => Array.from({ length: n }, (_, i) => `acct-${i} ${i}\n`).join('');

function opened(t: TestContext, file: string, options?: Parameters<typeof ModuleLibrary.open>[1]): ModuleLibrary {
  const library = ModuleLibrary.open(file, options);
  t.after(() => library.close());
  return library;
}

before(async () => {
  const index = await buildModules({ quiet: true });
  resident = path.join(OUT_DIR, index.find((e) => e.variant === 'resident')!.file);
  scratchDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-module-library-'));
});

after(() => rmSync(scratchDir, { recursive: true, force: true }));

test('open declares the ABI and reads the identity', (t) => {
  const ledger = opened(t, LEDGER_1_0);
  assert.equal(ledger.abiVersion(), 1);
  assert.equal(ledger.name(), 'ledger');
  assert.equal(ledger.version(), '1.0.0');
  assert.equal(ledger.init(), HP_OK);
  assert.equal(ledger.health(), HP_OK);
  assert.equal(ledger.supportsStateHandOff, true);
  assert.equal(ledger.hasSymbol('hp_state_export'), true);
  assert.equal(ledger.hasSymbol('crypto_sm4_override'), false);
});

test('a response larger than the buffer is fetched again with the size the module asked for', (t) => {
  const ledger = opened(t, LEDGER_1_0, { responseBytes: 64 });
  assert.equal(ledger.init(text(seedAccounts(40))), HP_OK);
  const { code, body } = ledger.handle(text('dump'));
  assert.equal(code, HP_OK);
  assert.equal(body.toString(), seedAccounts(40));
});

test('the default 64 KiB buffer grows for a larger answer', (t) => {
  const ledger = opened(t, LEDGER_1_0);
  const accounts = seedAccounts(6000);
  assert.ok(accounts.length > 64 * 1024);
  assert.equal(ledger.init(text(accounts)), HP_OK);
  assert.equal(ledger.handle(text('dump')).body.toString(), accounts);
  assert.equal(ledger.exportState()!.toString(), `hotplane-ledger/1\n${accounts}`);
});

test('a retried transfer moves the money once', (t) => {
  const ledger = opened(t, LEDGER_1_0, { responseBytes: 8 });
  ledger.init(text('alice 100\nbob 0\n'));
  assert.equal(ledger.handle(text('transfer alice bob 30')).code, HP_OK);
  assert.equal(ledger.handle(text('balance bob')).body.toString(), 'bob 30');
});

test('an answer above maxResponseBytes is refused, not allocated', (t) => {
  const ledger = opened(t, LEDGER_1_0, { responseBytes: 16, maxResponseBytes: 64 });
  ledger.init(text(seedAccounts(40)));
  assert.deepEqual(ledger.handle(text('dump')), { code: HP_BUFFER_TOO_SMALL, body: Buffer.alloc(0) });
});

test('optional state functions may be absent', (t) => {
  const risk = opened(t, RISK_RULES);
  assert.equal(risk.supportsStateHandOff, false);
  assert.equal(risk.exportState(), null);
  assert.throws(() => risk.importState(text('x')), /has no hp_state_import/);
});

test('two versions loaded at once are separate instances', (t) => {
  const v1 = opened(t, LEDGER_1_0);
  const v2 = opened(t, LEDGER_1_1);
  v1.init(text('alice 10\n'));
  v2.init(text('alice 20\n'));
  assert.deepEqual([v1.version(), v2.version()], ['1.0.0', '1.1.0']);
  assert.equal(v1.handle(text('balance alice')).body.toString(), 'alice 10');
  assert.equal(v2.handle(text('balance alice')).body.toString(), 'alice 20');
});

test('after close every call throws instead of crashing, and close is idempotent', () => {
  const ledger = ModuleLibrary.open(LEDGER_1_0);
  ledger.init();
  ledger.shutdown();
  ledger.close();
  ledger.close();
  assert.equal(ledger.closed, true);
  for (const use of [() => ledger.handle(text('total')), () => ledger.name(), () => ledger.selfTest(),
    () => ledger.exportState(), () => ledger.hasSymbol('hp_init'), () => ledger.health()]) {
    assert.throws(use, /module library .*ledger-1\.0\.0\.so is closed/);
  }
});

test('a plain C module is unmapped after close; the resident variant stays mapped', () => {
  const plain = ModuleLibrary.open(RISK_RULES);
  assert.equal(isLibraryResident(RISK_RULES), true);
  plain.close();
  assert.equal(isLibraryResident(RISK_RULES), false);

  const stuck = ModuleLibrary.open(resident);
  stuck.init();
  stuck.shutdown();
  stuck.close();
  assert.equal(isLibraryResident(stuck.realPath), true);
});

test('a library without the ABI is refused with the missing function named', () => {
  const source = path.join(scratchDir, 'plain.c');
  const library = path.join(scratchDir, 'plain.so');
  writeFileSync(source, 'int hp_abi_version(void) { return 1; }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', library, source]);
  assert.throws(() => ModuleLibrary.open(library), /plain\.so is not a Hotplane module: .*hp_module_name/);
  assert.equal(isLibraryResident(library), false);
  assert.throws(() => ModuleLibrary.open(path.join(scratchDir, 'missing.so')), /ENOENT/);
});
