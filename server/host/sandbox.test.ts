// A signed module is still untrusted code: the hostile snoop module (modules/snoop/snoop.c) tries to read the
// console's secrets, its environment and PID 1's, every file it can find, and to reach the console over loopback —
// in a real sandboxed process cell, in the real preflight probe, and (to show the test can fail) in-process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { loadOrCreateConsoleKey } from '../audit/console-key.ts';
import { loadConfig } from '../config.ts';
import { digestArtifactFile } from '../crypto/digest.ts';
import { applyMigrations } from '../db/migrate.ts';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules.ts';
import { probeProcessPreflight } from '../rollout/preflight.ts';
import { waitFor } from '../testing/wait-for.ts';
import { consoleFilesOf, consoleSecretFiles, secureConsoleFiles } from '../secrets-at-rest.ts';
import { fileFetcher } from './artifact-cache.ts';
import { createCell, type Cell } from './cell.ts';
import { Host } from './host.ts';
import { inprocRefusalFor } from './inproc-guard.ts';
import { decideSandbox, SANDBOX_UID, SandboxUnavailableError, type SandboxSettings } from './sandbox.ts';
import type { DesiredVersion } from '../protocol/index.ts';

const TIMEOUT_MS = 10_000;
const env = (values: Record<string, string>) => values as unknown as NodeJS.ProcessEnv;
const asRoot = process.getuid?.() === 0;

let work: string;
let dataDir: string;
let snoop: string;
let ledger: string;
let secrets: string[];
let hostAdminToken: string;
let consoleServer: Server;
let consolePort: number;
let connections = 0;

before(async () => {
  const modules = await buildExampleModules();
  snoop = exampleModulePath(modules, 'snoop', '1.0.0', 'hostile');
  ledger = exampleModulePath(modules, 'ledger', '1.0.0');
  work = mkdtempSync(path.join(os.tmpdir(), 'hotplane-sandbox-'));
  // A console's data folder laid out by the real code: database (with its WAL), signing key, auth secret.
  dataDir = path.join(work, 'data');
  const settings = loadConfig(env({ HOTPLANE_DATA_DIR: dataDir }));
  applyMigrations(settings.databaseUrl);
  loadOrCreateConsoleKey(settings.consoleKeyFile);
  writeFileSync(path.join(dataDir, 'auth-secret'), 'f'.repeat(64), { mode: 0o600 });
  secureConsoleFiles(consoleFilesOf(settings));
  secrets = consoleSecretFiles(consoleFilesOf(settings)).filter((file) => !file.endsWith('-shm') && !file.endsWith('-wal'));
  const hostDir = path.join(work, 'data-host');
  mkdirSync(hostDir, { mode: 0o700 });
  hostAdminToken = path.join(hostDir, 'admin-token');
  writeFileSync(hostAdminToken, 'admin-token-value', { mode: 0o600 });
  consoleServer = createServer((_request, response) => response.end('console'));
  consoleServer.on('connection', () => connections++);
  await new Promise<void>((resolve) => consoleServer.listen(0, '127.0.0.1', resolve));
  consolePort = (consoleServer.address() as AddressInfo).port;
});

after(() => {
  consoleServer.close();
  rmSync(work, { recursive: true, force: true });
});

const checkoutPackage = () => path.join(process.cwd(), 'package.json');

/** Everything snoop is told to try: the secrets, the host's admin token, the checkout, the console's port. */
function targets(): string {
  return [...secrets, hostAdminToken, dataDir, path.join(process.cwd(), 'package.json'), `tcp:127.0.0.1:${consolePort}`].join('\n');
}

function findings(report: string) {
  const lines = report.trim().split('\n');
  const with_ = (prefix: string) => lines.filter((l) => l.startsWith(`${prefix} `)).map((l) => l.slice(prefix.length + 1));
  return { lines, read: with_('read'), denied: with_('denied'), env: with_('env'), visible: with_('visible'), connected: with_('connected'), unreachable: with_('unreachable') };
}

async function snoopCell(t: TestContext, isolation: 'process' | 'inproc', sandbox?: SandboxSettings): Promise<Cell> {
  const cell = createCell({ path: snoop, isolation, goRuntime: false, sandbox });
  t.after(() => cell.dispose());
  await cell.open();
  assert.equal((await cell.init(Buffer.from(targets()))).code, 0);
  return cell;
}

async function snoopReport(cell: Cell, request: 'probe' | 'walk'): Promise<ReturnType<typeof findings>> {
  const { code, body } = await cell.handle(Buffer.from(request), TIMEOUT_MS);
  assert.equal(code, 0, body.toString());
  return findings(body.toString());
}

function assertFoundNothing(found: ReturnType<typeof findings>) {
  for (const file of [...secrets, hostAdminToken, dataDir, checkoutPackage()]) {
    assert.ok(found.denied.includes(`${file} No such file or directory`), `${file} is not even visible:\n${found.lines.join('\n')}`);
  }
  assert.deepEqual(found.read.filter((r) => !/^\/proc\/(1|self)\/environ /.test(r)), [], 'nothing but its own environ is read');
  assert.ok(!found.read.some((r) => /^\/proc\/1\/environ [1-9]/.test(r)), 'PID 1 of the sandbox has no environment');
  assert.deepEqual(found.connected, []);
  assert.ok(found.unreachable.some((u) => u.startsWith(`127.0.0.1:${consolePort} `)), found.lines.join('\n'));
  assert.ok(found.lines.includes('nonewprivs 1'), found.lines.join('\n'));
}

test('attack: a hostile module in a sandboxed process cell finds no console secret, no data folder, no environment and no network', async (t) => {
  const cell = await snoopCell(t, 'process');
  const found = await snoopReport(cell, 'walk');
  assertFoundNothing(found);
  // bwrap sets PWD after --clearenv; nothing of the host's environment reaches the module.
  assert.deepEqual(found.env.filter((name) => name !== 'PWD'), []);
  if (asRoot) assert.ok(found.lines.includes(`uid ${SANDBOX_UID} euid ${SANDBOX_UID}`), 'started as root, the module runs as nobody');
  else assert.ok(found.lines.includes(`uid ${process.getuid!()} euid ${process.getuid!()}`));
  // Every file it can open at all: its own copy, the cell's script and koffi — nothing of the checkout or /tmp.
  const koffi = path.dirname(realpathSync(path.join(process.cwd(), 'node_modules', 'koffi', 'package.json')));
  const allowed = ['/hotplane/', `${koffi}/`, `${path.join(path.dirname(koffi), '@koromix')}/`];
  assert.ok(found.visible.length > 0, 'the walk ran');
  for (const file of found.visible) assert.ok(allowed.some((prefix) => file.startsWith(prefix)), `visible to the module: ${file}`);
  assert.equal(connections, 0, 'the console saw no connection');
});

test('without a sandbox (in-process here) the same hostile module reads every secret and reaches the console', async (t) => {
  if (!asRoot) t.diagnostic('not root: the module runs as this user, who owns the files');
  const cell = await snoopCell(t, 'inproc');
  const found = await snoopReport(cell, 'probe');
  for (const file of [...secrets, hostAdminToken]) assert.ok(found.read.some((r) => r.startsWith(`${file} `)), `${file} read:\n${found.lines.join('\n')}`);
  assert.ok(found.connected.includes(`127.0.0.1:${consolePort}`));
  assert.ok(found.env.includes('PATH'));
  await waitFor('the console to see the connection', () => connections > 0);
  connections = 0;
});

test('attack: the preflight probe of a hostile module runs sandboxed: its self-test finds no secret and no network', async () => {
  const { sm3 } = await digestArtifactFile(snoop);
  const result = await probeProcessPreflight({ module: 'snoop', version: '1.0.0', path: snoop, sm3, config: targets(), selfTestLimitMs: TIMEOUT_MS });
  assert.equal(result.ok, true, result.report);
  // The probe is a process cell: it sees nothing of the checkout either.
  assertFoundNothing(findings(result.report));
  assert.equal(connections, 0);
});

const NO_BWRAP = '/nonexistent/bwrap';

test('attack: outside demo mode, a process cell without bubblewrap is refused with the reason, and no process starts', async (t) => {
  const settings = loadConfig(env({ HOTPLANE_DEMO: '0', HOTPLANE_BWRAP: NO_BWRAP }));
  const cell = createCell({ path: snoop, isolation: 'process', goRuntime: false, sandbox: settings });
  t.after(() => cell.dispose());
  const refused = await cell.open().then(() => null, (error: unknown) => error);
  assert.ok(refused instanceof SandboxUnavailableError, String(refused));
  assert.match(refused.message, /refusing to run module code without a sandbox: bubblewrap was not found at \/nonexistent\/bwrap/);
  assert.match(refused.message, /set HOTPLANE_ALLOW_UNSANDBOXED=1/);
  assert.equal(cell.pid, undefined, 'no child was started');
  const { sm3 } = await digestArtifactFile(snoop);
  const subject = { module: 'snoop', version: '1.0.0', path: snoop, sm3, config: targets(), selfTestLimitMs: TIMEOUT_MS };
  assert.throws(() => decideSandbox(settings), SandboxUnavailableError);
  // The preflight asks the same question, from the console's settings.
  const saved = { ...process.env };
  Object.assign(process.env, { HOTPLANE_DEMO: '0', HOTPLANE_BWRAP: NO_BWRAP });
  t.after(() => {
    for (const name of ['HOTPLANE_DEMO', 'HOTPLANE_BWRAP']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  const preflight = await probeProcessPreflight(subject);
  assert.equal(preflight.ok, false);
  assert.match(preflight.report, /refusing to run module code without a sandbox/);
});

test('without bubblewrap, demo mode and HOTPLANE_ALLOW_UNSANDBOXED=1 run cells unsandboxed and say so', async (t) => {
  const demo = decideSandbox({ bwrapPath: NO_BWRAP, demoMode: true, allowUnsandboxed: false });
  assert.equal(demo.sandboxed, false);
  assert.match(!demo.sandboxed ? demo.warning : '', /process cells are NOT sandboxed \(demo mode\): bubblewrap was not found/);
  const allowed = loadConfig(env({ HOTPLANE_DEMO: '0', HOTPLANE_ALLOW_UNSANDBOXED: '1', HOTPLANE_BWRAP: NO_BWRAP }));
  const cell = await snoopCell(t, 'process', allowed);
  const found = await snoopReport(cell, 'probe');
  assert.deepEqual(found.env, [], 'even unsandboxed, a cell gets no environment');
  assert.ok(found.read.some((r) => r.startsWith(`${secrets[0]} `)), 'but it reads what its user can');
  await waitFor('the console to see the connection', () => connections > 0);
  connections = 0;
});

test('attack: a host that can read a console secret refuses to load a module in-process; process cells still load', async (t) => {
  const refusal = inprocRefusalFor(secrets);
  assert.ok(refusal, 'this test process can read the secrets it created');
  assert.match(refusal, /^inproc isolation refused: this host can read the console's .*auth-secret/);
  assert.equal(inprocRefusalFor([path.join(work, 'no-such-secret')]), null);
  const hostDir = mkdtempSync(path.join(work, 'host-'));
  const { sm3 } = await digestArtifactFile(ledger);
  const host = new Host({ dataDir: hostDir, fetchArtifact: fileFetcher(() => ledger), inprocRefusal: refusal }).start();
  t.after(() => host.stop({ drain: false }));
  const version = (isolation: DesiredVersion['isolation'], weight: number): DesiredVersion => ({ version: '1.0.0', sm3, weight, isolation, config: 'alice 10\n' });
  await host.applyDesiredState({ generation: 1, modules: [{ module: 'ledger', versions: [version('inproc', 100)] }] });
  const refused = host.versionStatuses().find((s) => s.module === 'ledger');
  assert.equal(refused?.phase, 'failed');
  assert.equal(refused?.reason, refusal);
  assert.equal((await host.invoke('ledger', Buffer.from('balance alice'))).status, 503, 'nothing serves');
  await host.applyDesiredState({ generation: 2, modules: [{ module: 'ledger', versions: [version('process', 100)] }] });
  assert.equal((await host.invoke('ledger', Buffer.from('balance alice'))).status, 200);
});


// A host killed outright (SIGKILL: no drain, no dispose) must not leave its cells running the module — not even one
// stuck in a call, which never sees its request pipe close.
test('attack: a sandboxed cell stuck in a module call does not outlive its host when the host is killed', async (t) => {
  const hanging = exampleModulePath(await buildExampleModules(), 'ledger', '1.2.5', 'hang');
  const script = path.join(work, 'host-with-a-cell.mts');
  writeFileSync(
    script,
    [
      `import { createCell } from ${JSON.stringify(path.join(process.cwd(), 'server', 'host', 'cell.ts'))};`,
      `const cell = createCell({ path: ${JSON.stringify(hanging)}, isolation: 'process', goRuntime: false });`,
      'await cell.open();',
      "await cell.init(Buffer.from('alice 10\\n'));",
      "for (let i = 0; i < 3; i++) await cell.handle(Buffer.from('balance alice'), 60_000);",
      "void cell.handle(Buffer.from('balance alice'), 60_000);",
      'console.log(String(cell.pid));',
      'setInterval(() => {}, 1000);',
    ].join('\n'),
  );
  const host = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => host.kill('SIGKILL'));
  let output = '';
  host.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const sandboxPid = Number(await waitFor('the cell to open', () => /^\d+\n/.test(output) && output.trim(), { timeoutMs: 20_000 }));
  const cellProcesses = (pid: number): number[] => {
    const children = existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() : '';
    return [pid, ...(children ? children.split(' ').flatMap((child) => cellProcesses(Number(child))) : [])];
  };
  const running = cellProcesses(sandboxPid);
  assert.ok(running.length >= 2, `bwrap and the module's process: ${running.join(', ')}`);
  host.kill('SIGKILL');
  await waitFor('every process of the cell to end', () => running.every((pid) => !existsSync(`/proc/${pid}`) || /\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))), { timeoutMs: 10_000 });
});
