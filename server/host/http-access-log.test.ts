import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAccessLog, type AccessLog } from './access-log';
import { fileFetcher } from './artifact-cache';
import { Host } from './host';
import { createHostHttpServer } from './http-server';
import { exampleArtifacts } from './testing';

const ADMIN = 'test-admin-token';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

// One raw HTTP/1.1 exchange, so header values fetch() would refuse (CR, LF) reach the host as a client sends them.
function exchange(port: number, head: string, body = 'balance alice'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.end(`${head}\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
}

describe('host HTTP invoke API: the access log', () => {
  let host: Host;
  let server: Server;
  let port: number;
  let accessLog: AccessLog;
  let file: string;

  before(async () => {
    const artifacts = await exampleArtifacts();
    file = path.join(artifacts.tempDir(), 'logs', 'access.log');
    accessLog = createAccessLog({ destination: file });
    host = new Host({ dataDir: artifacts.tempDir(), fetchArtifact: fileFetcher(artifacts.artifactPath) }).start();
    server = createHostHttpServer({ host, adminToken: ADMIN, accessLog });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const stable = await artifacts.version('ledger', '1.0.0', { weight: 90, isolation: 'inproc', config: 'alice 1000\n' });
    const canary = await artifacts.version('ledger', '1.1.0', { weight: 10, isolation: 'inproc', config: 'alice 1000\n' });
    await host.applyDesiredState({ generation: 1, modules: [{ module: 'ledger', versions: [stable, canary] }] });
  });
  after(async () => {
    server.close();
    await host.stop();
    await accessLog.close();
  });

  const lines = () =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('logs every answer with time, module, version tag, status, latency, gray id and traceparent', async () => {
    await accessLog.flush();
    const before = lines().length;
    assert.equal(await exchange(port, `POST /v1/invoke/ledger HTTP/1.1\r\nX-Gray-Id: user-42\r\ntraceparent: ${TRACEPARENT}`), 200);
    assert.equal(await exchange(port, 'POST /v1/invoke/ledger?x=1 HTTP/1.1\r\nX-Hotplane-Pin: 1.1.0'), 403);
    assert.equal(await exchange(port, 'POST /v1/invoke/nope HTTP/1.1'), 404);
    await accessLog.flush();
    const [ok, refused, unknown] = lines().slice(before);
    assert.match(String(ok.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(ok.module, 'ledger');
    assert.ok(ok.version === '1.0.0' || ok.version === '1.1.0', String(ok.version));
    assert.equal(ok.status, 200);
    assert.equal(typeof ok.latencyUs, 'number');
    assert.equal(ok.grayId, 'user-42');
    assert.equal(ok.traceparent, TRACEPARENT);
    assert.deepEqual([refused.module, refused.version, refused.status, refused.reason], ['ledger', null, 403, 'X-Hotplane-Pin needs the host admin token']);
    assert.deepEqual([unknown.module, unknown.status], ['nope', 404]);
  });

  it('attack: a gray id or a module path with CR LF and quotes cannot forge or split a log line', async () => {
    await accessLog.flush();
    const before = lines().length;
    const forged = '{"time":"2020-01-01T00:00:00.000Z","module":"ledger","version":"1.0.0","status":200,"grayId":"admin"}';
    const statuses = [
      await exchange(port, `POST /v1/invoke/ledger HTTP/1.1\r\nX-Gray-Id: a"}\\n${forged}`),
      await exchange(port, `POST /v1/invoke/${encodeURIComponent(`x"}\n${forged}\n`)} HTTP/1.1`),
      await exchange(port, 'POST /v1/invoke/%E0%A4%A HTTP/1.1'),
      await exchange(port, `POST /v1/invoke/ledger HTTP/1.1\r\nX-Gray-Id: ok-1\r\nX-Gray-Id: ok-2`),
    ];
    assert.deepEqual(statuses, [400, 404, 400, 400]);
    await accessLog.flush();
    const logged = lines().slice(before);
    assert.equal(logged.length, 4, 'one line per request, each one JSON object');
    assert.deepEqual(logged.map((line) => line.status), [400, 404, 400, 400]);
    assert.equal(logged[1].module, `x"}\n${forged}\n`);
    assert.equal(logged[2].module, '/v1/invoke/%E0%A4%A');
    assert.ok(logged.every((line) => !('grayId' in line)), 'no refused gray id is logged');
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((line) => line.startsWith('{"time":"2020')).length, 0);
  });
});
