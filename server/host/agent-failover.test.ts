import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, test } from 'node:test';
import { FLEET_PATHS, LONG_POLL, type DesiredState, type HostReport } from '../protocol';
import { waitFor } from '../testing/wait-for';
import { ControlPlaneAgent } from './agent';
import { Host } from './host';
import { exampleArtifacts } from './testing';

// The agent against stand-in consoles on loopback that speak the protocol (FLEET_PATHS, ETag, the held long-poll),
// with a real host behind it: failover between consoles, every console down, a malformed desired state.

let artifacts: Awaited<ReturnType<typeof exampleArtifacts>>;

interface StandInConsole {
  url: string;
  state: unknown;
  reports: HostReport[];
  setState(state: unknown): void;
  close(): Promise<void>;
}

const tagOf = (state: unknown) => `"${(state as DesiredState).generation}"`;

async function standInConsole(initial: unknown): Promise<StandInConsole> {
  const held = new Set<() => void>();
  const reports: HostReport[] = [];
  const self = { state: initial, reports } as StandInConsole;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname === FLEET_PATHS.desiredState) {
      const answer = () => {
        if (req.headers['if-none-match'] === tagOf(self.state)) return void res.writeHead(304).end();
        res.writeHead(200, { 'content-type': 'application/json', etag: tagOf(self.state) }).end(JSON.stringify(self.state));
      };
      const wait = Number(url.searchParams.get(LONG_POLL.param) ?? 0);
      if (wait === 0 || req.headers['if-none-match'] !== tagOf(self.state)) return answer();
      const wake = () => {
        held.delete(wake);
        clearTimeout(timer);
        answer();
      };
      const timer = setTimeout(wake, wait * 1000);
      // A host that gives up on the wait (an agent stopped, a poll cut short) ends it here too, as the console does.
      res.on('close', () => {
        held.delete(wake);
        clearTimeout(timer);
      });
      return void held.add(wake);
    }
    const artifact = url.pathname.match(/^\/api\/fleet\/artifacts\/([0-9a-f]{64})$/);
    if (artifact) return void createReadStream(artifacts.artifactPath(artifact[1])).pipe(res);
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      reports.push(JSON.parse(body) as HostReport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  self.setState = (state) => {
    self.state = state;
    for (const wake of [...held]) wake();
  };
  self.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return self;
}

let good: DesiredState;
let next: DesiredState;

before(async () => {
  artifacts = await exampleArtifacts();
  good = { generation: 1, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.0.0', { config: 'alice 10\n', isolation: 'inproc' })] }] };
  next = { generation: 2, modules: [{ module: 'ledger', versions: [await artifacts.version('ledger', '1.1.0', { config: 'alice 10\n', isolation: 'inproc' })] }] };
});

function startHost(consoles: string[], log: string[]) {
  const dataDir = artifacts.tempDir();
  let agent: ControlPlaneAgent | null = null;
  const host = new Host({ dataDir, fetchRetryMs: 0, fetchArtifact: (sm3) => agent!.fetchArtifact(sm3) }).start();
  agent = new ControlPlaneAgent(host, { controlPlane: consoles, dataDir, waitSeconds: 2, log: (line) => log.push(line) });
  const balance = async () => (await host.invoke('ledger', Buffer.from('balance alice'))).status;
  return { host, agent, dataDir, balance };
}

test('a host follows the other console when its console dies, and keeps serving its last state with every console down', async () => {
  const a = await standInConsole(good);
  const b = await standInConsole(good);
  const log: string[] = [];
  const { host, agent, balance } = startHost([a.url, b.url], log);
  try {
    agent.start();
    await waitFor('generation 1 from console a', () => host.generation === 1 && a.reports.length > 0);
    assert.equal(agent.console, a.url, 'the first console, while it answers');
    assert.equal(b.reports.length, 0, 'sticky: nothing went to the second console');
    await a.close();
    b.setState(next);
    await waitFor('generation 2 from console b', () => host.generation === 2, { timeoutMs: 10_000 });
    assert.equal(agent.console, b.url);
    await waitFor('reports at console b', () => b.reports.length > 0);
    assert.ok(log.some((l) => l.includes(`trying ${b.url}`)), log.join('\n'));
    assert.ok(log.includes(`connected to the console ${b.url}`), log.join('\n'));
    await b.close();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(host.generation, 2);
    assert.equal(await balance(), 200, 'still serving with both consoles down');
    assert.ok(log.some((l) => l.startsWith('console unreachable')), log.join('\n'));
  } finally {
    agent.stop();
    await host.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('attack: a malformed desired state from a console is refused whole, with a clear log line; the host keeps its last good state', async () => {
  const c = await standInConsole(good);
  const log: string[] = [];
  const { host, agent, dataDir, balance } = startHost([c.url], log);
  try {
    await agent.syncOnce();
    assert.equal(host.generation, 1);
    // A digest that is not one, and a version weighted past 100: either alone would be refused.
    c.setState({ generation: 2, modules: [{ module: 'ledger', versions: [{ ...next.modules[0].versions[0], sm3: '../../etc/passwd', weight: 150 }] }] });
    await assert.rejects(agent.syncOnce(), (error: Error) => {
      assert.match(error.message, new RegExp(`^refused the desired state from ${c.url} \\(not a DesiredState: modules\\.0\\.versions\\.0\\.sm3: an SM3 digest is 64 lower-case hex digits; .*weight.*\\); serving generation 1$`));
      return true;
    });
    assert.equal(host.generation, 1);
    assert.equal(await balance(), 200);
    assert.equal(JSON.parse(await readFile(path.join(dataDir, 'desired-state.json'), 'utf8')).generation, 1, 'the persisted state is the last good one');
    c.setState('not a state at all');
    agent.start();
    await waitFor('the refusal logged', () => log.find((l) => l.startsWith('refused the desired state')));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(log.filter((l) => l.startsWith('refused the desired state')).length, 1, 'logged once, not at every retry');
    assert.equal(host.generation, 1);
    c.setState(next);
    await waitFor('a good state applies again', () => host.generation === 2);
  } finally {
    agent.stop();
    await host.stop();
    await c.close();
  }
});

test('a local override while a long-poll is held is undone within a moment, not when the wait ends', async () => {
  const c = await standInConsole(good);
  const log: string[] = [];
  const dataDir = artifacts.tempDir();
  let agent: ControlPlaneAgent | null = null;
  const host = new Host({ dataDir, fetchArtifact: (sm3) => agent!.fetchArtifact(sm3) }).start();
  agent = new ControlPlaneAgent(host, { controlPlane: c.url, dataDir, waitSeconds: 30, log: (line) => log.push(line) });
  try {
    agent.start();
    await waitFor('generation 1', () => host.generation === 1 && host.versionStatuses().some((s) => s.version === '1.0.0' && s.phase === 'serving'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await host.applyDesiredState(next, { local: true });
    assert.ok(host.locallyOverridden);
    await waitFor("the console's state back", () => !host.locallyOverridden && host.versionStatuses().some((s) => s.version === '1.0.0' && s.phase === 'serving'), { timeoutMs: 10_000 });
    assert.ok(Date.now() - started < 3_000, `undone after ${Date.now() - started} ms, the long-poll waits 30 s`);
    assert.ok(log.some((l) => l.startsWith('a local override was in place')), log.join('\n'));
  } finally {
    agent.stop();
    await host.stop();
    await c.close();
  }
});
