// The example modules as built by scripts/build-modules.mjs: their exports and ELF flags, and their behaviour through
// the real loader. Variants that kill or block their process (crash, hang, Go runtime) run in a child process.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildModules, type BuiltModule } from '../scripts/build-modules.mjs';
import { HP_FAULT, HP_OK, ModuleLibrary } from '../server/host/module-library.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(ROOT, 'build', 'modules');
const LIBRARY_URL = pathToFileURL(path.join(ROOT, 'server', 'host', 'module-library.ts')).href;
const ABI_EXPORTS = ['hp_abi_version', 'hp_handle', 'hp_health', 'hp_init', 'hp_module_name', 'hp_module_version',
  'hp_self_test', 'hp_shutdown'];
const STATE_EXPORTS = ['hp_state_export', 'hp_state_import'];

let index: BuiltModule[];
const so = (file: string) => path.join(OUT_DIR, file);
const text = (s: string) => Buffer.from(s);

function entry(module: string, variant: string, version?: string): BuiltModule {
  const found = index.find((e) => e.module === module && e.variant === variant && (!version || e.version === version));
  assert.ok(found, `index.json lists ${module} ${version ?? ''} ${variant}`);
  return found;
}

function definedExports(file: string): string[] {
  const out = execFileSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => line.split(' ').at(-1)!).sort();
}

function dynamicSection(file: string): string {
  return execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
}

function withLibrary<T>(file: string, config: string, body: (library: ModuleLibrary) => T): T {
  const library = ModuleLibrary.open(so(file));
  try {
    assert.equal(library.init(text(config)), HP_OK);
    return body(library);
  } finally {
    library.shutdown();
    library.close();
  }
}

function call(library: ModuleLibrary, request: string): { code: number; body: string } {
  const { code, body } = library.handle(text(request));
  return { code, body: body.toString() };
}

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

// Runs `body` (ESM, with `ModuleLibrary`, `lowerProcessLimit`, `readFileSync`, `readdirSync` and `file` in scope) in a fresh node process and kills it after timeoutMs.
function runInChild(file: string, body: string, timeoutMs: number): Promise<ChildOutcome> {
  const script = `import { lowerProcessLimit, ModuleLibrary } from ${JSON.stringify(LIBRARY_URL)};\n` +
    `import { readdirSync, readFileSync } from 'node:fs';\n` +
    `const file = ${JSON.stringify(so(file))};\n${body}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

before(async () => {
  index = await buildModules({ quiet: true });
});

describe('build', () => {
  test('index.json lists every module and variant, each file with its own SONAME', () => {
    const variants = index.filter((e) => e.module === 'ledger' && e.variant !== 'standard').map((e) => e.variant);
    assert.deepEqual(variants.sort(), ['abort', 'crash', 'error-prone', 'forbidden-export', 'hang', 'init-crash',
      'leak-fd', 'leak-memory', 'resident', 'self-test-fail', 'slow', 'static-tls', 'wrong-abi', 'wrong-name',
      'wrong-version']);
    assert.equal(entry('ledger', 'standard', '1.0.0').class, 'business');
    assert.equal(entry('ledger', 'standard', '1.1.0').class, 'business');
    assert.equal(entry('risk-rules', 'standard').class, 'business');
    assert.equal(new Set(index.map((e) => `${e.module}@${e.version}`)).size, index.length, 'versions are unique');
    for (const { file } of index) {
      assert.match(dynamicSection(so(file)), new RegExp(`Library soname: \\[${file.replaceAll('.', '\\.')}\\]`));
    }
  });

  test('a second build changes nothing', async () => {
    const before = index.map((e) => statSync(so(e.file)).mtimeMs);
    const again = await buildModules({ quiet: true });
    assert.deepEqual(again, index);
    assert.deepEqual(index.map((e) => statSync(so(e.file)).mtimeMs), before);
  });

  test('standard C modules export exactly the ABI', () => {
    assert.deepEqual(definedExports(so('ledger-1.0.0.so')), [...ABI_EXPORTS, ...STATE_EXPORTS].sort());
    assert.deepEqual(definedExports(so('ledger-1.1.0.so')), [...ABI_EXPORTS, ...STATE_EXPORTS].sort());
    assert.deepEqual(definedExports(so('risk-rules-1.0.0.so')), [...ABI_EXPORTS].sort());
  });

  test('the forbidden-export variant exports crypto_sm4_override', () => {
    assert.ok(definedExports(so(entry('ledger', 'forbidden-export').file)).includes('crypto_sm4_override'));
  });

  test('the static-tls variant is flagged STATIC_TLS, the standard ledger is not', () => {
    assert.match(dynamicSection(so(entry('ledger', 'static-tls').file)), /\(FLAGS\)\s+.*STATIC_TLS/);
    assert.doesNotMatch(dynamicSection(so('ledger-1.0.0.so')), /STATIC_TLS/);
  });
});

describe('ledger', () => {
  test('1.0.0 opens accounts, reads balances, transfers, and answers refusals with application codes', () => {
    withLibrary('ledger-1.0.0.so', 'alice 1000\nbob 50\n', (ledger) => {
      assert.equal(ledger.name(), 'ledger');
      assert.equal(ledger.version(), '1.0.0');
      assert.deepEqual(call(ledger, 'balance alice'), { code: HP_OK, body: 'alice 1000' });
      assert.deepEqual(call(ledger, 'transfer alice bob 250\n'),
        { code: HP_OK, body: 'transferred 250 from alice to bob; alice 750, bob 300' });
      assert.deepEqual(call(ledger, 'transfer bob alice 301'),
        { code: 1, body: 'insufficient funds: bob has 300, needs 301' });
      assert.deepEqual(call(ledger, 'balance carol'), { code: 2, body: 'unknown account: carol' });
      assert.deepEqual(call(ledger, 'open carol 5'), { code: HP_OK, body: 'opened carol with 5' });
      assert.deepEqual(call(ledger, 'open carol 5'), { code: 3, body: 'account exists: carol' });
      assert.equal(call(ledger, 'transfer alice alice 1').code, 4);
      assert.equal(call(ledger, 'withdraw alice 1').code, 4);
      assert.deepEqual(call(ledger, 'total'), { code: HP_OK, body: 'total 1055 in 3 accounts' });
    });
  });

  test('1.1.0 charges a fee of 1 per transfer and says so', () => {
    withLibrary('ledger-1.1.0.so', 'alice 1000\nbob 0\n', (ledger) => {
      assert.deepEqual(call(ledger, 'transfer alice bob 250'),
        { code: HP_OK, body: 'transferred 250 from alice to bob, fee 1 to fees; alice 749, bob 250' });
      assert.deepEqual(call(ledger, 'balance fees'), { code: HP_OK, body: 'fees 1' });
      assert.deepEqual(call(ledger, 'transfer alice bob 749'),
        { code: 1, body: 'insufficient funds: alice has 749, needs 750' });
      assert.deepEqual(call(ledger, 'total'), { code: HP_OK, body: 'total 1000 in 3 accounts' });
    });
  });

  test('the self-test passes with a text report', () => {
    withLibrary('ledger-1.1.0.so', '', (ledger) => {
      const { code, report } = ledger.selfTest();
      assert.equal(code, HP_OK);
      assert.match(report, /^ledger 1\.1\.0 self-test: PASS\n/);
      assert.match(report, /total conserved: ok \(1000 before, 1000 after\)/);
      assert.deepEqual(call(ledger, 'total'), { code: HP_OK, body: 'total 0 in 0 accounts' }, 'live state untouched');
    });
  });

  test('the self-test-fail variant fails and its report names the broken check', () => {
    withLibrary(entry('ledger', 'self-test-fail').file, '', (ledger) => {
      const { code, report } = ledger.selfTest();
      assert.notEqual(code, HP_OK);
      assert.match(report, /self-test: FAIL/);
      assert.match(report, /total conserved: FAIL \(1000 before, 999 after\)/);
    });
  });

  test('state exported by 1.0.0 and imported by 1.1.0 keeps every balance', () => {
    const state = withLibrary('ledger-1.0.0.so', 'alice 1000\nbob 50\n', (old) => {
      call(old, 'transfer alice bob 100');
      return old.exportState();
    });
    assert.ok(state);
    assert.equal(state.toString(), 'hotplane-ledger/1\nalice 900\nbob 150\n');
    withLibrary('ledger-1.1.0.so', '', (next) => {
      assert.equal(next.importState(state), HP_OK);
      assert.deepEqual(call(next, 'balance alice'), { code: HP_OK, body: 'alice 900' });
      assert.deepEqual(call(next, 'balance bob'), { code: HP_OK, body: 'bob 150' });
      assert.equal(next.importState(text('hotplane-ledger/1\nalice 5\nalice 6\n')), HP_FAULT, 'duplicate account');
      assert.equal(next.importState(text('not a ledger state')), HP_FAULT);
      assert.deepEqual(call(next, 'total'), { code: HP_OK, body: 'total 1050 in 2 accounts' }, 'failed imports');
    });
  });

  test('name, version and ABI variants report what they claim', () => {
    withLibrary(entry('ledger', 'wrong-name').file, '', (l) => assert.equal(l.name(), 'ledgerx'));
    withLibrary(entry('ledger', 'wrong-version').file, '', (l) => assert.equal(l.version(), '1.1.0'));
    withLibrary(entry('ledger', 'wrong-abi').file, '', (l) => assert.equal(l.abiVersion(), 2));
    withLibrary('ledger-1.0.0.so', '', (l) => assert.equal(l.abiVersion(), 1));
  });

  test('the slow variant takes 250 ms longer per request', () => {
    withLibrary(entry('ledger', 'slow').file, 'alice 1\n', (ledger) => {
      const started = performance.now();
      assert.equal(call(ledger, 'balance alice').code, HP_OK);
      assert.ok(performance.now() - started >= 245);
    });
  });

  test('the error-prone variant fails every 4th request', () => {
    withLibrary(entry('ledger', 'error-prone').file, 'alice 1\n', (ledger) => {
      const codes = Array.from({ length: 8 }, () => call(ledger, 'balance alice').code);
      assert.deepEqual(codes, [0, 0, 0, HP_FAULT, 0, 0, 0, HP_FAULT]);
    });
  });

  test('the crash variant dies of SIGSEGV on its 4th request, the init-crash variant in hp_init', async () => {
    const crash = await runInChild(entry('ledger', 'crash').file, `
      const m = ModuleLibrary.open(file);
      m.init(Buffer.from('alice 1\\n'));
      for (let i = 1; i <= 4; i++) console.log(i, m.handle(Buffer.from('balance alice')).code);`, 20_000);
    assert.equal(crash.signal, 'SIGSEGV', crash.stderr);
    assert.equal(crash.stdout, '1 0\n2 0\n3 0\n');
    const initCrash = await runInChild(entry('ledger', 'init-crash').file, `
      const m = ModuleLibrary.open(file);
      console.log('loaded');
      m.init();`, 20_000);
    assert.equal(initCrash.signal, 'SIGSEGV', initCrash.stderr);
    assert.equal(initCrash.stdout, 'loaded\n');
  });

  test('the abort variant dies of SIGABRT on its 4th request and says why first', async () => {
    const aborted = await runInChild(entry('ledger', 'abort').file, `
      const m = ModuleLibrary.open(file);
      m.init(Buffer.from('alice 1\\n'));
      for (let i = 1; i <= 4; i++) console.log(i, m.handle(Buffer.from('balance alice')).code);`, 20_000);
    assert.equal(aborted.signal, 'SIGABRT', aborted.stderr);
    assert.equal(aborted.stdout, '1 0\n2 0\n3 0\n');
    assert.match(aborted.stderr, /hp_fault: assertion failed in call 4/);
  });

  test('the leak-memory variant keeps 1 MiB per request and aborts once malloc fails', async () => {
    const leak = await runInChild(entry('ledger', 'leak-memory').file, `
      const dataKiB = () => Number(/VmData:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      const m = ModuleLibrary.open(file);
      m.init(Buffer.from('alice 1\\n'));
      // One request first: its 1 MiB may come from heap already mapped, which would hide a mebibyte of the 20.
      m.handle(Buffer.from('balance alice'));
      const before = dataKiB();
      for (let i = 0; i < 20; i++) m.handle(Buffer.from('balance alice'));
      console.log(Math.floor((dataKiB() - before) / 1024));
      lowerProcessLimit('data', (dataKiB() + 16 * 1024) * 1024);
      for (;;) m.handle(Buffer.from('balance alice'));`, 20_000);
    assert.equal(leak.signal, 'SIGABRT', leak.stderr);
    const grownMiB = Number(leak.stdout);
    assert.ok(grownMiB >= 20 && grownMiB < 24, `20 requests grew the data segment by ${grownMiB} MiB`);
    const [, calls] = /hp_fault: out of memory after leaking \d+ KiB in (\d+) calls/.exec(leak.stderr) ?? [];
    // The warm-up request counts as a call too: 1 + 20 measured + at most 16 more before malloc fails.
    assert.ok(Number(calls) >= 21 && Number(calls) <= 21 + 16, `${calls} calls before malloc failed 16 MiB over`);
  });

  test('the leak-fd variant keeps a descriptor per request and fails its requests once none is left', async () => {
    const leak = await runInChild(entry('ledger', 'leak-fd').file, `
      const open = () => readdirSync('/proc/self/fd').length;
      const m = ModuleLibrary.open(file);
      m.init(Buffer.from('alice 1\\n'));
      const before = open();
      for (let i = 0; i < 10; i++) m.handle(Buffer.from('balance alice'));
      console.log(open() - before);
      lowerProcessLimit('nofile', open() + 3);
      console.log(Array.from({ length: 8 }, () => m.handle(Buffer.from('balance alice')).code).join(' '));
      console.log(m.health());`, 20_000);
    assert.equal(leak.code, 0, leak.stderr);
    const [leaked, codes, health] = leak.stdout.trim().split('\n');
    assert.equal(leaked, '10');
    assert.match(codes, /^(0 )+(-1 ?)+$/, 'some requests succeed, then every one fails');
    assert.equal(health, '0', 'hp_health opens nothing, so it still passes');
  });

  test('the hang variant never returns from its 4th request', async () => {
    const hang = await runInChild(entry('ledger', 'hang').file, `
      const m = ModuleLibrary.open(file);
      m.init(Buffer.from('alice 1\\n'));
      for (let i = 1; i <= 4; i++) console.log(i, m.handle(Buffer.from('balance alice')).code);`, 4_000);
    assert.ok(hang.timedOut, `still running when killed (exit ${hang.code} ${hang.signal})`);
    assert.equal(hang.stdout, '1 0\n2 0\n3 0\n');
  });
});

describe('risk-rules', () => {
  test('scores payments against the compiled-in rules', () => {
    withLibrary('risk-rules-1.0.0.so', '', (risk) => {
      assert.deepEqual(call(risk, 'amount=1500;country=CN;mcc=5411;hour=14'),
        { code: HP_OK, body: 'score=0;decision=approve;rules=' });
      assert.deepEqual(call(risk, 'amount=600000;country=DE;hour=3'),
        { code: HP_OK, body: 'score=50;decision=review;rules=amount_large,amount_round,night_hour' });
      assert.deepEqual(call(risk, 'amount=9000050;mcc=7995;channel=web'),
        { code: HP_OK, body: 'score=75;decision=decline;rules=amount_large,amount_very_large,mcc_high_risk' });
      assert.deepEqual(call(risk, 'country=KP'), { code: 1, body: 'bad request: amount' });
      assert.deepEqual(call(risk, 'amount=5;hour=25'), { code: 1, body: 'bad request: hour' });
      const { code, report } = risk.selfTest();
      assert.equal(code, HP_OK);
      assert.match(report, /risk-rules 1\.0\.0 self-test: PASS \(3 of 3 cases\)/);
    });
  });
});

describe('Go module', { skip: hasGo() ? false : 'go is not installed' }, () => {
  test('has a .go.buildinfo section and exports the ABI', () => {
    const file = so(entry('edge-gateway', 'standard').file);
    assert.match(execFileSync('readelf', ['-S', '-W', file], { encoding: 'utf8' }), /\.go\.buildinfo/);
    const exported = new Set(definedExports(file));
    for (const name of ABI_EXPORTS) assert.ok(exported.has(name), `${name} exported`);
  });

  test('answers hp_handle and passes its self-test in a process of its own', async () => {
    const { file } = entry('edge-gateway', 'standard');
    const child = await runInChild(file, `
      const m = ModuleLibrary.open(file);
      const answer = (line) => { const r = m.handle(Buffer.from(line)); return [r.code, r.body.toString()]; };
      console.log(JSON.stringify({
        identity: [m.abiVersion(), m.name(), m.version()], init: m.init(),
        balance: answer('GET /accounts/alice'), missing: answer('GET /nowhere'),
        selfTest: m.selfTest().code, state: m.supportsStateHandOff,
      }));`, 20_000);
    assert.equal(child.code, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), {
      identity: [1, 'edge-gateway', '1.0.0'], init: HP_OK,
      balance: [HP_OK, 'route=ledger;request=balance alice'], missing: [404, 'no route for /nowhere'],
      selfTest: HP_OK, state: false,
    });
  });
});

function hasGo(): boolean {
  try {
    execFileSync('go', ['version']);
    return true;
  } catch {
    return false;
  }
}
