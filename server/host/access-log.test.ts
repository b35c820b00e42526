import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createAccessLog, sanitizeGrayId, validTraceparent } from './access-log';

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
    assert.ok(!Number.isNaN(Date.parse(String(ok.time))), 'time is a timestamp');
    const { time: _time, level: _level, ...fields } = ok;
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
