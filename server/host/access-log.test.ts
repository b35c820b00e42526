import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createAccessLog, DEFAULT_ACCESS_LOG_SETTINGS, sanitizeGrayId, validTraceparent } from './access-log';
import { accessLogSettings } from '../config';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const work = mkdtempSync(path.join(tmpdir(), 'hotplane-access-log-'));
after(() => rmSync(work, { recursive: true, force: true }));

let fileCount = 0;
const logFile = () => path.join(work, `nested-${++fileCount}`, 'access.log');
const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('sanitizeGrayId', () => {
  it('accepts 1..128 characters of A-Z a-z 0-9 . _ : -', () => {
    for (const id of ['u', 'user-42', 'a.b_c:d-E9', 'x'.repeat(128)]) assert.equal(sanitizeGrayId(id), id);
  });

  it('refuses header injection, control characters, other characters, empty and over-long ids', () => {
    for (const id of ['a\r\nSet-Cookie: x', 'a\nb', 'a\u0000', 'with space', 'é', 'a"b', '{}', '', 'x'.repeat(129), null, undefined]) {
      assert.equal(sanitizeGrayId(id), null, JSON.stringify(id));
    }
  });
});

describe('validTraceparent', () => {
  it('accepts a version-00 W3C traceparent', () => {
    assert.equal(validTraceparent(TRACEPARENT), TRACEPARENT);
    assert.equal(validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00'), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
  });

  it('refuses other versions, upper case, all-zero ids, wrong lengths and trailing bytes', () => {
    for (const raw of [
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      `${TRACEPARENT}\n`,
      `${TRACEPARENT.slice(0, -2)}0g`,
      'garbage',
      '',
      null,
    ]) {
      assert.equal(validTraceparent(raw), null, JSON.stringify(raw));
    }
  });
});

describe('access log settings (server/config.ts)', () => {
  it('default to the documented values and read HOTPLANE_ACCESS_LOG_*', () => {
    assert.deepEqual(accessLogSettings({ NODE_ENV: 'test' }), DEFAULT_ACCESS_LOG_SETTINGS);
    const set = accessLogSettings({ NODE_ENV: 'test', HOTPLANE_ACCESS_LOG_MAX_MIB: '2', HOTPLANE_ACCESS_LOG_KEEP: '0', HOTPLANE_ACCESS_LOG_FLUSH_MS: '50' });
    assert.deepEqual([set.maxFileBytes, set.keepFiles, set.flushIntervalMs], [2 * 1024 * 1024, 0, 50]);
  });

  it('refuse a value that is not a whole number, naming the variable', () => {
    assert.throws(() => accessLogSettings({ NODE_ENV: 'test', HOTPLANE_ACCESS_LOG_MAX_MIB: '0' }), /HOTPLANE_ACCESS_LOG_MAX_MIB=0/);
    assert.throws(() => accessLogSettings({ NODE_ENV: 'test', HOTPLANE_ACCESS_LOG_FLUSH_MS: 'soon' }), /HOTPLANE_ACCESS_LOG_FLUSH_MS=soon/);
  });
});

describe('AccessLog', () => {
  it('writes one JSON line per request with the fields, dropping a bad traceparent and gray id', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file });
    assert.equal(log.enabled, true);
    log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 812.4, grayId: 'user-42', traceparent: TRACEPARENT });
    log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 90, grayId: 'a\r\nSet-Cookie: x', traceparent: '00-zz' });
    log.request({ module: 'ledger', version: null, status: 503, latencyUs: 15, reason: 'no healthy version' });
    log.request({ module: 'ledger', version: '1.3.0', status: 502, latencyUs: 4_000, reason: `cell died: ${'x'.repeat(500)}` });
    log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 50, reason: 'not an error' });
    await log.flush();

    const [ok, forged, unavailable, crashed, fine] = readLines(file);
    assert.match(String(ok.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(String(ok.time)) - Date.now()) < 60_000, 'time is now');
    const { time: _time, ...fields } = ok;
    assert.deepEqual(fields, { module: 'ledger', version: '1.2.0', status: 200, latencyUs: 812, grayId: 'user-42', traceparent: TRACEPARENT });
    assert.equal('grayId' in forged, false);
    assert.equal('traceparent' in forged, false);
    assert.deepEqual([unavailable.version, unavailable.status, unavailable.reason], [null, 503, 'no healthy version']);
    assert.equal(String(crashed.reason).length, 200);
    assert.equal('reason' in fine, false);
  });

  it('flush() waits until every line logged so far is written', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file });
    await log.flush();
    for (let i = 0; i < 20_000; i++) log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i });
    await log.flush();
    const lines = readLines(file);
    assert.equal(lines.length, 20_000);
    assert.equal(lines.at(-1)?.latencyUs, 19_999);
  });

  it('can be switched off', async () => {
    const log = createAccessLog({ destination: null });
    assert.equal(log.enabled, false);
    log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 1 });
    await log.flush();
  });

  it('refuses a file it cannot open at once, so a bad path stops the host at startup', () => {
    assert.throws(() => createAccessLog({ destination: '/dev/null/not-a-dir/access.log' }), /ENOTDIR|EEXIST/);
  });

  it('writes a burst far larger than its buffer in full and in order', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file, bufferLines: 64 });
    for (let i = 0; i < 10_000; i++) log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i, grayId: `u-${i}` });
    await log.flush();
    const lines = readLines(file);
    assert.equal(lines.length, 10_000);
    assert.ok(lines.every((line, i) => line.latencyUs === i && line.grayId === `u-${i}`));
    assert.equal(log.dropped, 0);
  });

  it('drops and counts what the disk cannot take, and says so in the file', async () => {
    const file = logFile();
    // Nothing completes during a synchronous loop: the first batch is in flight, the next ones pile up.
    const log = createAccessLog({ destination: file, bufferLines: 100, maxPendingBytes: 20_000 });
    for (let i = 0; i < 10_000; i++) log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i });
    await log.flush();
    const lines = readLines(file);
    const notes = lines.filter((line) => 'dropped' in line);
    const requests = lines.filter((line) => !('dropped' in line));
    assert.ok(log.dropped > 0, 'some lines were dropped');
    assert.deepEqual(notes.map((note) => note.dropped), [log.dropped]);
    assert.equal(requests.length + log.dropped, 10_000);
    assert.ok(requests.every((line, i) => i === 0 || Number(line.latencyUs) > Number(requests[i - 1].latencyUs)), 'kept lines stay in order');
  });

  it('rotates the file by size and keeps only the configured number of old files', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file, bufferLines: 10, maxFileBytes: 4_096, keepFiles: 2 });
    for (let i = 0; i < 2_000; i++) {
      log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i, grayId: 'user-42' });
      if (i % 10 === 9) await log.flush();
    }
    await log.close();
    assert.ok(existsSync(`${file}.1`) && existsSync(`${file}.2`), 'two rotated files');
    assert.equal(existsSync(`${file}.3`), false);
    for (const name of [file, `${file}.1`, `${file}.2`]) assert.ok(statSync(name).size <= 4_096, `${name} ${statSync(name).size} bytes`);
    const kept = [...readLines(`${file}.2`), ...readLines(`${file}.1`), ...readLines(file)].map((line) => Number(line.latencyUs));
    assert.equal(kept.at(-1), 1_999);
    assert.ok(kept.every((latency, i) => i === 0 || latency === kept[i - 1] + 1), 'the kept files hold consecutive lines');
  });

  it('writes on its own after the flush interval, without flush()', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file, flushIntervalMs: 20 });
    log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 7 });
    for (let waited = 0; waited < 10_000 && readFileSync(file, 'utf8') === ''; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(readLines(file)[0].latencyUs, 7);
  });

  it('attack: a hostile gray id, module name or reason cannot forge or split a log line', async () => {
    const file = logFile();
    const log = createAccessLog({ destination: file });
    const forgedLine = '"}\n{"time":"2020-01-01T00:00:00.000Z","module":"ledger","status":200,"grayId":"admin"}\n';
    const hostile = [`x${forgedLine}`, 'a\r\nb', 'quote"back\\slash', '\u2028\u2029', '\ud800 lone surrogate', '\u0000\u001b[31m'];
    for (const text of hostile) {
      log.request({ module: text, version: text, status: 500, latencyUs: 1, grayId: text, traceparent: text, reason: text });
    }
    await log.flush();
    const raw = readFileSync(file, 'utf8');
    assert.equal(raw.split('\n').length - 1, hostile.length, 'one line per request');
    const lines = readLines(file);
    lines.forEach((line, i) => {
      assert.equal(line.module, hostile[i]);
      assert.equal(line.version, hostile[i]);
      assert.equal(line.reason, hostile[i]);
      assert.equal('grayId' in line, false);
      assert.equal('traceparent' in line, false);
    });
    assert.equal(lines.filter((line) => line.grayId === 'admin').length, 0);
  });

  it('writes what is buffered at a normal exit, and keeps lines older than the flush interval through a SIGKILL', () => {
    const exitFile = logFile();
    const killFile = logFile();
    const script = `
      const { createAccessLog } = await import(${JSON.stringify(new URL('./access-log.ts', import.meta.url).href)});
      const exiting = createAccessLog({ destination: ${JSON.stringify(exitFile)}, flushIntervalMs: 60_000 });
      for (let i = 0; i < 500; i++) exiting.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i });
      const killed = createAccessLog({ destination: ${JSON.stringify(killFile)}, flushIntervalMs: 10 });
      for (let i = 0; i < 500; i++) killed.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: i });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await exiting.flush();
      for (let i = 0; i < 5; i++) exiting.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 1000 + i });
      if (process.argv.includes('kill')) process.kill(process.pid, 'SIGKILL');
      process.exit(0);`;
    const run = (mode: string) =>
      spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', '--input-type=module', '-e', script, mode], { encoding: 'utf8', timeout: 30_000 });
    const exited = run('exit');
    assert.equal(exited.status, 0, exited.stderr);
    assert.equal(readLines(exitFile).length, 505, 'the 5 lines still buffered at process.exit are written');
    rmSync(exitFile);
    rmSync(killFile);
    const killed = run('kill');
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(readLines(killFile).length, 500, 'lines older than the flush interval survive');
    assert.equal(readLines(exitFile).length, 500, 'lines younger than the flush interval are lost, as documented');
  });

  // In a child process, because the failure this guards against is a process that never exits: pino's exit
  // hook retrying the failed write on every 'beforeExit'.
  it('reports a failed write once, stops logging instead of throwing into requests, and lets the process exit', () => {
    const script = `
      const { createAccessLog } = await import(${JSON.stringify(new URL('./access-log.ts', import.meta.url).href)});
      const errors = [];
      const log = createAccessLog({ destination: 999999, onError: (error) => errors.push(error.message) });
      log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 1 });
      await log.flush().catch(() => undefined);
      log.request({ module: 'ledger', version: '1.2.0', status: 200, latencyUs: 1 });
      await log.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
      console.log(JSON.stringify({ errors, enabled: log.enabled }));`;
    const child = spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(child.signal, null, 'exited by itself');
    assert.equal(child.status, 0, child.stderr);
    const { errors, enabled } = JSON.parse(child.stdout) as { errors: string[]; enabled: boolean };
    assert.equal(enabled, false);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /EBADF/);
  });
});
