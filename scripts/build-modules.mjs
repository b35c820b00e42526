// Builds the example modules (modules/) into build/modules/ and writes build/modules/index.json describing each
// .so. Incremental: an output newer than all of its inputs (sources, shared headers, this script) is kept, so a
// second run does nothing. Usable as a library (tests, demo seeding) and as a script: node scripts/build-modules.mjs
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODULES_DIR = path.join(ROOT, 'modules');
const THIS_SCRIPT = fileURLToPath(import.meta.url);
const SHARED_INPUTS = [path.join(MODULES_DIR, 'hotplane_module.h'), path.join(MODULES_DIR, 'faults.h'), THIS_SCRIPT];
const LEDGER_SOURCE = 'modules/ledger/ledger.c';
const GO_DIR = path.join(MODULES_DIR, 'go');

const CFLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-fPIC', '-fvisibility=hidden', `-I${MODULES_DIR}`];
const CXXFLAGS = ['-std=c++17', '-O2', '-Wall', '-Wextra', '-fPIC', '-fvisibility=hidden', '-fno-exceptions',
  '-fno-rtti', `-I${MODULES_DIR}`];

function ledger(version, variant, description, { defines = [], extraSources = [], reportedVersion = version } = {}) {
  return {
    file: variant === 'standard' ? `ledger-${version}.so` : `ledger-${version}-${variant}.so`,
    module: 'ledger', version, class: 'business', variant, description,
    language: extraSources.some((s) => s.endsWith('.cpp')) ? 'c++' : 'c',
    sources: [LEDGER_SOURCE, ...extraSources],
    defines: [`HP_VERSION="${reportedVersion}"`, ...defines],
  };
}

function riskRules(version, description) {
  return {
    file: `risk-rules-${version}.so`, module: 'risk-rules', version, class: 'business', variant: 'standard',
    description, language: 'c', sources: ['modules/risk-rules/risk_rules.c'], defines: [`HP_VERSION="${version}"`],
  };
}

// Every fault variant is a later ledger (1.2.x, with the 1.1.0 fee) so each can be uploaded as its own candidate
// version next to the good ones: the store keeps (module, version) unique and versions only go up.
const fee = (...defines) => ({ defines: ['HP_LEDGER_TRANSFER_FEE=1', ...defines] });
const TARGETS = [
  ledger('1.0.0', 'standard', 'Accounts and transfers; no fee.'),
  ledger('1.1.0', 'standard', 'Charges a fee of 1 per transfer, credited to the account "fees".', fee()),
  ledger('1.2.1', 'self-test-fail', 'Transfers lose 1 unit; its self-test catches the loss and fails.',
    fee('HP_FAULT_SELF_TEST_FAIL')),
  ledger('1.2.2', 'slow', 'Every request takes 250 ms longer.', fee('HP_FAULT_SLOW_MS=250')),
  ledger('1.2.3', 'error-prone', 'Every 4th request returns -1 (fault).', fee('HP_FAULT_ERROR_EVERY=4')),
  ledger('1.2.4', 'crash', 'The 4th request dies of SIGSEGV.', fee('HP_FAULT_CRASH_AFTER=3')),
  ledger('1.2.5', 'hang', 'The 4th request never returns.', fee('HP_FAULT_HANG_AFTER=3')),
  ledger('1.2.6', 'init-crash', 'hp_init dies of SIGSEGV.', fee('HP_FAULT_INIT_CRASH')),
  ledger('1.2.7', 'forbidden-export', 'Also exports crypto_sm4_override.', fee('HP_FAULT_FORBIDDEN_EXPORT')),
  ledger('1.2.8', 'wrong-abi', 'hp_abi_version answers 2.', fee('HP_FAULT_WRONG_ABI')),
  ledger('1.2.9', 'wrong-name', 'Reports module "ledgerx" instead of "ledger".', fee('HP_MODULE_NAME="ledgerx"')),
  ledger('1.2.10', 'wrong-version', 'Reports version 1.1.0 (its author forgot to bump it).',
    { ...fee(), reportedVersion: '1.1.0' }),
  ledger('1.2.11', 'static-tls', 'Uses initial-exec TLS: the ELF is flagged STATIC_TLS.', fee('HP_FAULT_STATIC_TLS')),
  ledger('1.2.12', 'resident', 'Binds a C++ STB_GNU_UNIQUE symbol, so dlclose cannot unload it.',
    { ...fee(), extraSources: ['modules/ledger/resident.cpp'] }),
  ledger('1.2.13', 'abort', 'The 4th request calls abort() (SIGABRT), as a failed assert does.', fee('HP_FAULT_ABORT_AFTER=3')),
  ledger('1.2.14', 'leak-memory', 'Every request leaks 1 MiB of written heap; aborts when malloc fails.',
    fee('HP_FAULT_LEAK_KB=1024')),
  ledger('1.2.15', 'leak-fd', 'Every request leaks an open file descriptor; fails (-1) once none is left.',
    fee('HP_FAULT_LEAK_FD')),
  riskRules('1.0.0', 'Scores a payment against a compiled-in rule table.'),
  // The same rules under a later version: the demo serves 1.0.0, so this one can be pushed and rolled out.
  riskRules('1.1.0', 'Scores a payment against a compiled-in rule table (a later build of the same rules).'),
  {
    file: 'snoop-1.0.0-hostile.so', module: 'snoop', version: '1.0.0', class: 'business', variant: 'hostile',
    description: 'Tries to read every secret and file it can find and to reach the console; answers with what it got.',
    language: 'c', sources: ['modules/snoop/snoop.c'], defines: [],
  },
  {
    file: 'edge-gateway-1.0.0.so', module: 'edge-gateway', version: '1.0.0', class: 'gateway', variant: 'standard',
    description: 'Routes HTTP request lines to ledger and risk-rules requests (Go, c-shared).', language: 'go',
  },
];

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const shown = [command, ...args].map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
      const cwd = options.cwd ? ` (in ${options.cwd})` : '';
      reject(new Error(`module build failed: ${shown}${cwd}\n${stderr || error.message}`));
    });
  });
}

async function newestMtime(files) {
  const times = await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs));
  return Math.max(...times);
}

async function isFresh(output, inputs) {
  const built = await stat(output).catch(() => null);
  return built !== null && built.mtimeMs >= (await newestMtime(inputs));
}

async function goInputs() {
  const names = await readdir(GO_DIR);
  return names.filter((n) => n.endsWith('.go') || n === 'go.mod').map((n) => path.join(GO_DIR, n));
}

async function goAvailable() {
  return run('go', ['version']).then(() => true, () => false);
}

// Separate compile and link steps because the resident variant mixes C and C++ sources, and linking with gcc keeps
// libstdc++ out of the dependencies.
async function buildC(target, temporary) {
  const objects = [];
  try {
    for (const [i, source] of target.sources.entries()) {
      const object = `${temporary}.${i}.o`;
      const cxx = source.endsWith('.cpp');
      const flags = [...(cxx ? CXXFLAGS : CFLAGS), ...target.defines.map((d) => `-D${d}`)];
      await run(cxx ? 'g++' : 'gcc', [...flags, '-c', path.join(ROOT, source), '-o', object]);
      objects.push(object);
    }
    // Its own SONAME per file: glibc treats two libraries with one SONAME as the same library and hands back the
    // handle of whichever version was loaded first.
    await run('gcc', ['-shared', '-Wl,--no-undefined', '-Wl,-z,relro,-z,now', `-Wl,-soname,${target.file}`,
      '-o', temporary, ...objects]);
  } finally {
    await Promise.all(objects.map((o) => rm(o, { force: true })));
  }
}

async function buildGo(target, temporary) {
  const env = { ...process.env, CGO_ENABLED: '1', GOPROXY: 'off', GOFLAGS: '' };
  if (!env.GOCACHE && !env.HOME && !env.XDG_CACHE_HOME) env.GOCACHE = path.join(os.tmpdir(), 'hotplane-go-cache');
  try {
    await run('go', ['build', '-buildmode=c-shared', '-trimpath', `-ldflags=-extldflags=-Wl,-soname,${target.file}`,
      '-o', temporary, '.'], { cwd: GO_DIR, env });
  } finally {
    // c-shared also writes a C header next to the library; the module's interface is hotplane_module.h.
    await rm(temporary.replace(/\.so$/, '.h'), { force: true });
  }
}

/** Returns true when the output was (re)built, false when it was fresh, null when it cannot be built here. */
async function buildTarget(target, outDir, log) {
  const output = path.join(outDir, target.file);
  const isGo = target.language === 'go';
  const inputs = isGo
    ? [...(await goInputs()), THIS_SCRIPT]
    : [...target.sources.map((s) => path.join(ROOT, s)), ...SHARED_INPUTS];
  if (await isFresh(output, inputs)) return false;
  if (isGo && !(await goAvailable())) {
    console.warn(`build-modules: 'go' not found on PATH, skipping ${target.file} (install Go 1.19 or later)`);
    return null;
  }
  // Build under a unique name and rename into place: test files run in parallel processes and may build at the
  // same time; rename is atomic, so nobody ever dlopens a half-written library.
  const temporary = path.join(outDir, `.${target.file}.${process.pid}-${randomBytes(4).toString('hex')}.so`);
  try {
    await (isGo ? buildGo(target, temporary) : buildC(target, temporary));
    await rename(temporary, output);
  } finally {
    await rm(temporary, { force: true });
  }
  log(`built ${target.file}`);
  return true;
}

async function inParallel(items, limit, worker) {
  const results = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}

async function writeIfChanged(file, text) {
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current === text) return;
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/**
 * Builds every example module into outDir (default build/modules) and writes outDir/index.json.
 * Resolves to the index: one { file, module, version, class, variant, description, language } per built .so
 * (the Go module is left out when it is not built and `go` is missing).
 */
export async function buildModules({ outDir = path.join(ROOT, 'build', 'modules'), quiet = false } = {}) {
  const log = quiet ? () => {} : (line) => console.log(`build-modules: ${line}`);
  await mkdir(outDir, { recursive: true });
  const outcomes = await inParallel(TARGETS, os.availableParallelism(), (t) => buildTarget(t, outDir, log));
  const index = TARGETS.filter((_, i) => outcomes[i] !== null).map((t) => ({
    file: t.file, module: t.module, version: t.version, class: t.class, variant: t.variant,
    description: t.description, language: t.language,
  }));
  await writeIfChanged(path.join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  const built = outcomes.filter((o) => o === true).length;
  log(built ? `${built} of ${index.length} modules rebuilt in ${outDir}` : `all ${index.length} modules up to date`);
  return index;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildModules().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
