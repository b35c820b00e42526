import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '../api/root';
import { createContext } from '../api/trpc';
import { createApiToken } from '../auth/api-tokens';
import { FleetMetrics } from '../fleet/metrics-store';
import { rejectChange } from '../rollout/approvals';
import { RolloutEngine } from '../rollout/engine';
import { startInProcessHost, type InProcessHost } from '../testing/in-process-host';
import { createRolloutFixture, type RolloutFixture } from '../testing/rollout-fixture';
import { waitFor } from '../testing/wait-for';

// A CI job's road through the real binary (bin/hotplane.js) against a real console: its tRPC endpoint served as the
// Next route serves it, the rollout engine, and a real host applying what the console says. No traffic reaches the
// host, so a canary step stays inconclusive and holds: what ends each rollout is the command under test.

const BIN = path.resolve('bin/hotplane.js');
const PATIENT = { timeoutMs: 180_000 };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('hotplane propose | status | start | watch | promote | abort | rollback | reviews', () => {
  let r: RolloutFixture;
  let server: Server;
  let engine: RolloutEngine;
  let h: InProcessHost;
  let consoleUrl: string;
  let operatorToken: string;
  let approverToken: string;
  let planFile: string;

  /** The CLI running; `printed` resolves once its stdout matches (a watch has seen the canary, say). */
  function launch(args: string[], token = operatorToken) {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, HOTPLANE_URL: consoleUrl, HOTPLANE_TOKEN: token, HOTPLANE_TOKEN_FILE: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { done, printed: (pattern: RegExp) => waitFor(`the CLI to print ${pattern}`, () => pattern.test(stdout), PATIENT) };
  }
  const hotplane = (args: string[], token = operatorToken): Promise<Run> => launch(args, token).done;
  const state = async (id: string) => (await r.f.db.changeRequest.findUniqueOrThrow({ where: { id } })).state;
  const reached = (id: string, wanted: string) => waitFor(`${id} to be ${wanted}`, async () => (await state(id)) === wanted, PATIENT);

  async function proposed(version: string): Promise<{ id: string; digest: string; revision: number }> {
    const run = await hotplane(['propose', '--module', 'ledger', '--version', version, '--reason', `ship ${version}`, '--plan', planFile, '--json']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    return JSON.parse(run.stdout) as { id: string; digest: string; revision: number };
  }

  async function running(version: string) {
    const request = await proposed(version);
    await r.approve(request.id, request.digest);
    const started = await hotplane(['start', request.id]);
    assert.equal(started.code, 0, started.stdout + started.stderr);
    assert.match(started.stdout, new RegExp(`${request.id} started: Preflight`));
    return request;
  }

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
    operatorToken = (await createApiToken(r.f.db, r.operator.actor, 'ci')).token;
    approverToken = (await createApiToken(r.f.db, r.secondApprover.actor, 'ci')).token;
    planFile = path.join(r.f.work, 'plan.json');
    // Long step deadlines: without traffic a step holds, inconclusive, until the command under test ends it.
    writeFileSync(planFile, JSON.stringify({ steps: [{ weight: 10, holdSeconds: 1 }, { weight: 100, holdSeconds: 1 }], stepDeadlineSeconds: 600, rollbackWindowSeconds: 600, isolation: 'inproc' }));
    const metrics = new FleetMetrics();
    h = await startInProcessHost(r.f.db, metrics);
    engine = new RolloutEngine({ db: r.f.db, metrics, settings: r.settings, log: () => undefined }).start();
  });

  after(async () => {
    await engine?.stop();
    await h?.stop();
    server?.close();
  });

  it('bad usage exits 2 naming the flag; a token on the command line is refused; each command has --help', async () => {
    const commands = ['propose', 'status', 'start', 'watch', 'promote', 'abort', 'rollback', 'reviews'];
    // Side by side: each run is mostly waiting for the machine.
    const [missing, unknown, badTimeout, argvToken, noToken, ...helps] = await Promise.all([
      hotplane(['propose', '--version', '1.1.0', '--reason', 'no module']),
      hotplane(['watch', 'cr-1', '--frobnicate']),
      hotplane(['watch', 'cr-1', '--timeout', 'soon']),
      hotplane(['status', 'cr-1', '--token', operatorToken]),
      hotplane(['status', 'cr-1'], ''),
      ...commands.map((command) => hotplane([command, '--help'])),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--module is required/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--frobnicate'/);
    assert.equal(badTimeout.code, 2);
    assert.match(badTimeout.stderr, /--timeout soon: give seconds/);
    assert.equal(argvToken.code, 2);
    assert.match(argvToken.stderr, /--token is not taken on the command line/);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no API token: set HOTPLANE_TOKEN or give --token-file/);
    helps.forEach((help, i) => {
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^hotplane ${commands[i]} `), commands[i]);
      assert.match(help.stdout, /Exit codes: 0 done, 1 refused/);
    });
  });

  it('push → propose → wait for approval → start → watch until promoted: exit 0 each, --json parses', async () => {
    const request = await proposed('1.1.0');
    const waiting = hotplane(['status', request.id, '--wait-approved', '--timeout', '300', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await r.approve(request.id, request.digest);
    const approved = await waiting;
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);
    assert.deepEqual(
      (({ result, state, approvals }) => ({ result, state, approvals }))(JSON.parse(approved.stdout)),
      { result: 'approved', state: 'Approved', approvals: { valid: 1, required: 1 } },
    );

    // attack on the secret at rest: a token file others can read is refused before it is used (exit 2).
    const openTokenFile = path.join(r.f.work, 'token-open');
    writeFileSync(openTokenFile, `${operatorToken}\n`, { mode: 0o644 });
    const openRefused = await hotplane(['start', request.id, '--token-file', openTokenFile], '');
    assert.equal(openRefused.code, 2, openRefused.stdout + openRefused.stderr);
    assert.match(openRefused.stderr, /--token-file .*token-open can be read or written by others \(mode 0644\): run chmod 600/);
    assert.equal((await r.f.db.changeRequest.findUniqueOrThrow({ where: { id: request.id } })).state, 'Approved', 'nothing started');

    const tokenFile = path.join(r.f.work, 'token');
    writeFileSync(tokenFile, `${operatorToken}\n`, { mode: 0o600 });
    const started = await hotplane(['start', request.id, '--token-file', tokenFile, '--json'], '');
    assert.equal(started.code, 0, started.stdout + started.stderr);
    assert.deepEqual(JSON.parse(started.stdout), { ok: true, started: true, id: request.id, state: 'Preflight' });

    const watching = launch(['watch', request.id, '--timeout', '300']);
    await watching.printed(/ Canary step 1\/2 10%/);
    const promoted = await hotplane(['promote', request.id]);
    assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr);
    const watched = await watching.done;
    assert.equal(watched.code, 0, watched.stdout + watched.stderr);
    const lines = watched.stdout.trim().split('\n');
    assert.match(lines[0], new RegExp(`${request.id} ledger 1\\.0\\.0 → 1\\.1\\.0 (Preflight|Canary)`));
    assert.match(lines.at(-1)!, /Promoted step 1\/2 10%: ledger 1\.1\.0 is the stable version: promoted by op-1@test at step \d, skipping the remaining steps$/);

    const status = await hotplane(['status', request.id, '--json']);
    assert.equal(status.code, 0);
    assert.equal(JSON.parse(status.stdout).state, 'Promoted');
  });

  it('a rejected request: status --wait-approved exits 1', async () => {
    const request = await proposed('1.2.3');
    const waiting = hotplane(['status', request.id, '--wait-approved', '--timeout', '300']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await rejectChange(r.f.db, r.approver.actor, { id: request.id, revision: request.revision, reason: 'not this week' });
    const refused = await waiting;
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /Rejected/);
  });

  it('watch times out with exit 3, still naming the state', async () => {
    const request = await proposed('1.2.3');
    const timedOut = await hotplane(['watch', request.id, '--timeout', '2', '--json']);
    assert.equal(timedOut.code, 3, timedOut.stdout + timedOut.stderr);
    assert.deepEqual((({ ok, result, state }) => ({ ok, result, state }))(JSON.parse(timedOut.stdout)), { ok: false, result: 'timed-out', state: 'PendingApproval' });
    const cancelled = await hotplane(['start', request.id, '--json']);
    assert.equal(cancelled.code, 1, 'an unapproved request does not start');
    assert.equal(JSON.parse(cancelled.stdout).ok, false);
    assert.match(JSON.parse(cancelled.stdout).error.message, /approv/i);
  });

  it('abort --reason on a live canary: watch exits 1; abort without --reason exits 2', async () => {
    const request = await running('1.2.3');
    const watching = hotplane(['watch', request.id, '--timeout', '300', '--json']);
    await reached(request.id, 'Canary');
    const noReason = await hotplane(['abort', request.id]);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason is required/);
    const aborted = await hotplane(['abort', request.id, '--reason', 'wrong build']);
    assert.equal(aborted.code, 0, aborted.stdout + aborted.stderr);
    const watched = await watching;
    assert.equal(watched.code, 1, watched.stdout + watched.stderr);
    const document = JSON.parse(watched.stdout);
    assert.equal(document.result, 'rolled-back');
    assert.equal(document.state, 'Aborted');
    assert.match(document.outcome.message, /aborted by op-1@test: wrong build/);
  });

  it('rollback (break-glass) of a live canary: watch exits 1, a review opens and is acknowledged; a refusal exits 1 with the reason', async () => {
    const request = await running('1.2.3');
    const watching = hotplane(['watch', request.id, '--timeout', '300']);
    await reached(request.id, 'Canary');
    const noReason = await hotplane(['rollback', '--module', 'ledger']);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason is required/);
    const rolledBack = await hotplane(['rollback', '--module', 'ledger', '--reason', 'errors in the canary', '--json']);
    assert.equal(rolledBack.code, 0, rolledBack.stdout + rolledBack.stderr);
    const result = JSON.parse(rolledBack.stdout);
    assert.deepEqual({ from: result.from, to: result.to, changeRequestId: result.changeRequestId }, { from: '1.2.3', to: '1.1.0', changeRequestId: request.id });
    const watched = await watching;
    assert.equal(watched.code, 1, watched.stdout + watched.stderr);
    assert.match(watched.stdout.trim().split('\n').at(-1)!, /RolledBack step 1\/2 10%: break-glass to 1\.1\.0 by op-1@test: errors in the canary$/);

    const refused = await hotplane(['rollback', '--module', 'nosuch', '--reason', 'typo in the module']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /break-glass refused: nosuch runs nowhere/);

    const open = await hotplane(['reviews', '--json']);
    assert.equal(open.code, 0, open.stdout + open.stderr);
    const [review] = JSON.parse(open.stdout).reviews as { id: string; module: string; from: string; to: string; overdue: boolean }[];
    assert.deepEqual({ module: review.module, from: review.from, to: review.to, overdue: review.overdue }, { module: 'ledger', from: '1.2.3', to: '1.1.0', overdue: false });
    const byRoller = await hotplane(['reviews', 'ack', review.id, '--note', 'canary build was bad']);
    assert.equal(byRoller.code, 1, 'an operator does not acknowledge reviews');
    assert.match(byRoller.stderr, /do not include the right "reviews\.acknowledge"/);
    const acknowledged = await hotplane(['reviews', 'ack', review.id, '--note', 'canary build was bad; CI now runs the error suite'], approverToken);
    assert.equal(acknowledged.code, 0, acknowledged.stdout + acknowledged.stderr);
    const none = await hotplane(['reviews']);
    assert.match(none.stdout, /no open post-incident reviews/);
  });
});
