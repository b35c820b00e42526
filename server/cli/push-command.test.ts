import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pushCommand } from './push-command';

// `hotplane push` against a real node:http server with Node's default header limit, as `next start` runs.
describe('hotplane push: headers over the limit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-push-'));
  const server = createServer((_request, response) => response.writeHead(500).end('{}'));
  let url = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(path.join(dir, 'ledger.so'), 'not really a module');
    writeFileSync(path.join(dir, 'ledger.so.manifest.json'), '{}');
    // 20 KiB of signature is 27 KiB of base64: over Node's 16 KiB of headers, so Node answers 431 by itself.
    writeFileSync(path.join(dir, 'ledger.so.manifest.sig'), Buffer.alloc(20 * 1024, 0x41));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 431 from the server is explained with the manifest and signature limits', async () => {
    // The token by environment, as the CLI takes it; put back after, so no other test sees it.
    const before = process.env.HOTPLANE_TOKEN;
    process.env.HOTPLANE_TOKEN = 'hp_test';
    try {
      await assert.rejects(
        pushCommand([path.join(dir, 'ledger.so'), '--console', url]),
        /HTTP 431\): the manifest and signature travel in headers, and may be at most 8192 and 2048 bytes/,
      );
    } finally {
      if (before === undefined) delete process.env.HOTPLANE_TOKEN;
      else process.env.HOTPLANE_TOKEN = before;
    }
  });
});
