// Each checkpoint line also leaves the machine's database: a syslog datagram and a webhook, on real loopback sockets.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { syslogSink, webhookSink } from './anchor-sinks';
import { AuditCheckpointer } from './checkpoints';
import { appendTestEvents, createTestTrail } from './test-support';

test('every new checkpoint line is copied to the syslog collector and the webhook, byte for byte', { timeout: 60_000 }, async () => {
  const syslog = createSocket('udp4');
  syslog.bind(0, '127.0.0.1');
  await once(syslog, 'listening');
  const datagrams: string[] = [];
  syslog.on('message', (message) => datagrams.push(message.toString('utf8')));
  const posted: { seq: number; line: string }[] = [];
  const webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      posted.push(JSON.parse(body));
      response.end();
    });
  }).listen(0, '127.0.0.1');
  await once(webhook, 'listening');
  const trail = createTestTrail();
  try {
    const checkpointer = new AuditCheckpointer({
      checkpointFile: trail.checkpointFile,
      signer: trail.signer,
      sinks: [
        syslogSink(`udp:127.0.0.1:${(syslog.address() as AddressInfo).port}`),
        webhookSink(`http://127.0.0.1:${(webhook.address() as AddressInfo).port}/anchor`),
      ],
      checkpointEvery: 1,
      checkpointIntervalMs: 1,
    });
    await appendTestEvents(trail.db, 4);
    await checkpointer.checkpointNow(trail.db);
    const line = readFileSync(trail.checkpointFile, 'utf8').trim();
    assert.deepEqual(posted, [{ type: 'hotplane.audit-checkpoint', seq: 4, line }]);
    while (datagrams.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.match(datagrams[0], /^<110>1 \S+ \S+ hotplane \d+ audit-checkpoint \[hotplane seq="4"\] /);
    assert.ok(datagrams[0].endsWith(` ${line}`));
  } finally {
    await trail.close();
    syslog.close();
    webhook.close();
  }
});

test('a sink setting that is not udp:HOST:PORT is refused with an example', () => {
  assert.throws(() => syslogSink('unix:/dev/log'), /HOTPLANE_AUDIT_SYSLOG=unix:\/dev\/log is not udp:HOST:PORT \(for example udp:127\.0\.0\.1:514\)/);
});
