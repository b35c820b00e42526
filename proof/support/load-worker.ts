// The fault proof's traffic, in a worker thread of its own: the console in the main thread writes to SQLite
// synchronously (better-sqlite3), and a write waiting on a locked database blocks that thread for seconds. Timed
// from here, a request measures the host, never the proof's own stalls. See fault-load.ts for the other side.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadOptions {
  /** http://127.0.0.1:<port>/v1/invoke/<module> */
  url: string;
  perSecond: number;
  /** Ledger accounts the requests use; none is ever opened, so every version's total stays what hp_init gave it. */
  accounts: string[];
  /** A request with no answer by then is abandoned and counted as a client timeout, as a real caller would. */
  clientTimeoutMs: number;
}

/** One request: when it was sent (epoch ms), how long until its answer ended, and how it ended. */
export interface RequestRecord {
  at: number;
  ms: number;
  /** The HTTP status ("200", "502"…) or the socket error code ("ECONNREFUSED"), or "client-timeout". */
  kind: string;
  /** X-Hotplane-Version, or "" when no version answered. */
  version: string;
}

const TICK_MS = 10;
const FLUSH_MS = 200;

const options = workerData as LoadOptions;
const agent = new Agent({ keepAlive: true, maxSockets: 2048 });
let records: RequestRecord[] = [];
let perSecond = options.perSecond;
let inFlight = 0;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

// Half reads, nearly half transfers (which conserve a ledger's total), a few totals.
function body(): string {
  const roll = Math.random();
  if (roll < 0.5) return `balance ${pick(options.accounts)}`;
  if (roll < 0.95) {
    const from = pick(options.accounts);
    let to = pick(options.accounts);
    while (to === from) to = pick(options.accounts);
    return `transfer ${from} ${to} ${1 + Math.floor(Math.random() * 100)}`;
  }
  return 'total';
}

function send() {
  const at = performance.timeOrigin + performance.now();
  const started = performance.now();
  const text = body();
  let done = false;
  const finish = (kind: string, version: string) => {
    if (done) return;
    done = true;
    inFlight--;
    records.push({ at, ms: performance.now() - started, kind, version });
  };
  const call = request(options.url, { method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(text) }, timeout: options.clientTimeoutMs }, (response) => {
    const version = typeof response.headers['x-hotplane-version'] === 'string' ? response.headers['x-hotplane-version'] : '';
    response.on('end', () => finish(String(response.statusCode), version));
    response.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'ERROR', version));
    response.resume();
  });
  call.on('timeout', () => {
    finish('client-timeout', '');
    call.destroy();
  });
  call.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'ERROR', ''));
  inFlight++;
  call.end(text);
}

let owed = 0;
const ticker = setInterval(() => {
  owed += (perSecond * TICK_MS) / 1000;
  for (; owed >= 1; owed--) send();
}, TICK_MS);

const flusher = setInterval(() => {
  if (records.length === 0) return;
  parentPort!.postMessage(records);
  records = [];
}, FLUSH_MS);

parentPort!.on('message', (message: { stop?: true; perSecond?: number }) => {
  if (message.perSecond !== undefined) perSecond = message.perSecond;
  if (!message.stop) return;
  clearInterval(ticker);
  // The calls in flight end (answered or timed out) before the last records go.
  const settled = setInterval(() => {
    if (inFlight > 0) return;
    clearInterval(settled);
    clearInterval(flusher);
    parentPort!.postMessage(records);
    agent.destroy();
    parentPort!.close();
  }, TICK_MS);
});
