import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileFetcher } from './artifact-cache';
import { Host } from './host';
import { createHostHttpServer, MAX_DISCARD_BYTES } from './http-server';
import { exampleArtifacts } from './testing';

// Bodies over the invoke limit, sent the way ordinary clients send them: the whole body first, then the answer
// is read. The host must answer 413 and still be there to read it from.

const LIMIT = 1024;

describe('host invoke API: bodies over the limit', () => {
  let host: Host;
  let server: Server;
  let port: number;

  before(async () => {
    const artifacts = await exampleArtifacts();
    host = new Host({ dataDir: artifacts.tempDir(), fetchArtifact: fileFetcher(artifacts.artifactPath) }).start();
    server = createHostHttpServer({ host, adminToken: 'admin', maxBodyBytes: LIMIT });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const version = await artifacts.version('ledger', '1.0.0', { weight: 100, isolation: 'inproc', config: 'alice 1000\n' });
    await host.applyDesiredState({ generation: 1, modules: [{ module: 'ledger', versions: [version] }] });
  });
  after(async () => {
    server.close();
    await host.stop();
  });

  // Everything the host sent until it closed or reset the connection; a reset is an outcome here, not an error.
  function collect(socket: Socket): Promise<string> {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    return new Promise((resolve) => {
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', () => undefined);
    });
  }
  // Status lines anywhere: a second response follows the first one's body directly.
  const statuses = (answer: string) => [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  const follow = 'POST /v1/invoke/ledger HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nConnection: close\r\n\r\nbalance alice';

  it('a declared oversized body sent whole: 413, and the same connection then serves the next request', async () => {
    const socket = connect(port, '127.0.0.1');
    const answer = collect(socket);
    const body = Buffer.alloc(LIMIT * 64, 'x');
    socket.write(`POST /v1/invoke/ledger HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    socket.write(follow);
    assert.deepEqual(statuses(await answer), [413, 200]);
  });

  it('a chunked oversized body sent whole: 413, and the same connection then serves the next request', async () => {
    const socket = connect(port, '127.0.0.1');
    const answer = collect(socket);
    const chunk = Buffer.alloc(LIMIT, 'x');
    socket.write('POST /v1/invoke/ledger HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 64; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`, 'latin1');
    socket.write(`0\r\n\r\n${follow}`);
    assert.deepEqual(statuses(await answer), [413, 200]);
  });

  it(`a client still sending ${MAX_DISCARD_BYTES} bytes past the limit is cut off after its 413`, { timeout: 60_000 }, async () => {
    const socket = connect(port, '127.0.0.1');
    const answer = collect(socket);
    const total = LIMIT + 4 * MAX_DISCARD_BYTES;
    socket.write(`POST /v1/invoke/ledger HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    while (written < total && !socket.destroyed) {
      written += piece.length;
      if (!socket.write(piece)) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
    }
    if (!socket.destroyed) socket.end();
    assert.deepEqual(statuses(await answer), [413]);
    assert.ok(written < total, `the host read all ${total} bytes instead of cutting the connection`);
  });
});
