import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { FLEET_PATHS, LONG_POLL } from '../../server/protocol/paths';
import type { HostReport } from '../../server/protocol';

// Lightweight simulated hosts for bench/fleet.bench.ts, run in their own process so the console's CPU is measured
// apart from theirs. Each speaks the real fleet protocol over mutual TLS with its own certificate: a long-poll for
// the desired state (If-None-Match + ?wait=) and one small report a second. What a host does with a state (loading
// modules) is not simulated; when it saw each generation is sent to the parent.

export interface SimulatedHost {
  hostId: string;
  consoleUrl: string;
  keyPem: string;
  certPem: string;
}

export interface SimulatorInput {
  hosts: SimulatedHost[];
  caFile: string;
  reportEveryMs: number;
  module: string;
}

export type SimulatorMessage =
  | { type: 'ready'; hosts: number }
  | { type: 'applied'; hostId: string; generation: number; at: number }
  | { type: 'stats'; reportsOk: number; reportsFailed: number; pollsFailed: number; lastError: string | null };

const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as SimulatorInput;
const ca = readFileSync(input.caFile, 'utf8');
const send = (message: SimulatorMessage) => process.send?.(message);
const stats = { reportsOk: 0, reportsFailed: 0, pollsFailed: 0, lastError: null as string | null };
let stopping = false;

function call(agent: Agent, url: URL, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function runHost(host: SimulatedHost) {
  const agent = new Agent({ keepAlive: true, maxSockets: 2, key: host.keyPem, cert: host.certPem, ca });
  let etag: string | null = null;
  let generation = -1;
  const startedAt = new Date().toISOString();
  const poll = async () => {
    while (!stopping) {
      try {
        const url = new URL(FLEET_PATHS.desiredState, host.consoleUrl);
        if (etag) url.searchParams.set(LONG_POLL.param, String(LONG_POLL.hostSeconds));
        const answer = await call(agent, url, { headers: etag ? { 'if-none-match': etag } : {} });
        if (answer.status === 200) {
          const state = JSON.parse(answer.body) as { generation: number };
          etag = String(answer.headers.etag ?? '');
          if (state.generation !== generation) {
            generation = state.generation;
            send({ type: 'applied', hostId: host.hostId, generation, at: Date.now() });
          }
        } else if (answer.status !== 304) {
          throw new Error(`desired state: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
        }
      } catch (error) {
        stats.pollsFailed += 1;
        stats.lastError = (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const report = async () => {
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    const body: HostReport = {
      hostId: host.hostId,
      appliedGeneration: generation,
      startedAt,
      versions: [],
      metrics: [{ module: input.module, version: '1.0.0', second, requests: 100, ok: 100, app4xx: 0, errors5xx: 0, timeouts: 0, crashes: 0, p50: 80, p95: 120, p99: 150, max: 300 }],
      events: [],
    };
    try {
      const answer = await call(agent, new URL(FLEET_PATHS.report, host.consoleUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (answer.status === 200) stats.reportsOk += 1;
      else {
        stats.reportsFailed += 1;
        stats.lastError = `report: HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
      }
    } catch (error) {
      stats.reportsFailed += 1;
      stats.lastError = (error as Error).message;
    }
  };
  void poll();
  // Spread the hosts' reports over the second, as independent hosts would be.
  setTimeout(() => setInterval(() => void report(), input.reportEveryMs), Math.random() * input.reportEveryMs);
}

for (const host of input.hosts) runHost(host);
send({ type: 'ready', hosts: input.hosts.length });
setInterval(() => send({ type: 'stats', ...stats }), 1_000);
process.on('disconnect', () => {
  stopping = true;
  process.exit(0);
});
