import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createApiToken } from '../auth/api-tokens';
import { createUser } from '../auth/users';
import { SYSTEM_ACTOR } from '../audit/actor';
import { generateSm2KeyPair } from '../crypto';
import { proposeChange } from '../rollout/change-request';
import { registerSigningKey } from '../rollout/signing-keys';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { appRouter } from '../api/root';
import { createContext } from '../api/trpc';

// `hotplane approve` (the real binary) against the console's tRPC endpoint, served as the Next route serves it.

const BIN = path.resolve('bin/hotplane.js');

function hotplane(args: string[], token = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, HOTPLANE_TOKEN: token, HOTPLANE_TOKEN_FILE: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('hotplane approve', () => {
  let r: RolloutFixture;
  let server: Server;
  let consoleUrl: string;
  let token: string;
  let keyFile: string;

  before(async () => {
    r = await createRolloutFixture();
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = new Request(new URL(req.url!, 'http://127.0.0.1'), {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      const response = await fetchRequestHandler({ endpoint: '/api/trpc', req: request, router: appRouter, createContext: () => createContext({ headers: request.headers }) });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    consoleUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { user: approver } = await createUser(r.f.db, SYSTEM_ACTOR, { email: 'cli-approver@test', name: 'CLI approver', roles: ['approver'], password: 'a-long-test-password-1' });
    const actor = { id: approver.id, name: 'cli-approver@test', roles: ['approver'] };
    keyFile = path.join(r.f.work, 'approver-key.pem');
    const keys = generateSm2KeyPair();
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    await registerSigningKey(r.f.db, actor, { publicKey: keys.publicKeyPem, label: 'cli' });
    token = (await createApiToken(r.f.db, actor, 'cli test')).token;
  });

  after(() => server?.close());

  it('checks the digest, signs locally and approves', async () => {
    const request = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.1.0', reason: 'fee per transfer' });
    const result = await hotplane(['approve', request.id, '--key', keyFile, '--console', consoleUrl], token);
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, new RegExp(`signing the digest ${request.digest}`));
    assert.match(result.out, /approved: 1 of 1 approval\(s\); the change may start/);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: request.id } })).state, 'Approved');
  });

  it('fails with the console’s reason, and without a token says how to get one', async () => {
    const again = await hotplane(['approve', 'cr-1', '--key', keyFile, '--console', consoleUrl], token);
    assert.equal(again.code, 1);
    assert.match(again.out, /only a request waiting for approval can be approved/);
    const missing = await hotplane(['approve', 'cr-1', '--key', keyFile, '--console', consoleUrl]);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /no API token: set HOTPLANE_TOKEN or give --token-file FILE/);
  });

  it('attack: a token on the command line (readable by every user through ps) is refused before anything is sent, for approve and push', async () => {
    for (const args of [
      ['approve', 'cr-1', '--key', keyFile, '--console', consoleUrl, '--token', token],
      ['approve', 'cr-1', '--key', keyFile, '--console', consoleUrl, `--token=${token}`],
      ['push', keyFile, '--console', consoleUrl, '--token', token],
    ]) {
      const refused = await hotplane(args);
      assert.equal(refused.code, 2, args.join(' '));
      assert.match(refused.out, /--token is not taken on the command line \(other users can read argv\): set HOTPLANE_TOKEN or give --token-file FILE/);
    }
  });

  it('takes the token from a file only its owner can read, and refuses one others can read', async () => {
    const request = await proposeChange(r.f.db, r.operator.actor, { module: 'ledger', toVersion: '1.2.3', reason: 'approved with a token from a file' });
    const tokenFile = path.join(r.f.work, 'api-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o644 });
    const open = await hotplane(['approve', request.id, '--key', keyFile, '--console', consoleUrl, '--token-file', tokenFile]);
    assert.equal(open.code, 2);
    assert.match(open.out, /chmod 600/);
    chmodSync(tokenFile, 0o600);
    const approved = await hotplane(['approve', request.id, '--key', keyFile, '--console', consoleUrl, '--token-file', tokenFile]);
    assert.equal(approved.code, 0, approved.out);
  });
});
