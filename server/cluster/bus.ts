import { EventEmitter } from 'node:events';
import pg from 'pg';
import { dialectOfDb, type DbTransaction } from '../db/client';
import { replicaId } from './replica-id';

// Small events between console replicas. On PostgreSQL: NOTIFY from the writer (inside its transaction, so it is
// delivered after the commit and never for a rollback) and LISTEN on one dedicated pg.Client per process, which
// reconnects; events sent while it was away are lost, so subscribers get a `resync` event after each reconnect
// and re-read what they watch. On SQLite the replicas are this process: the bus is an in-process emitter and an
// event published inside a transaction may arrive before its commit is visible (subscribers re-read, or read
// again shortly after, as the desired-state watch does).

export const CLUSTER_CHANNELS = ['desired_changed', 'host_revoked', 'metrics_arrived'] as const;
export type ClusterChannel = (typeof CLUSTER_CHANNELS)[number];

export interface ClusterEvent {
  /** The replica that published it. */
  origin: string;
  /** After a reconnect of the listener: events may have been missed, re-read. */
  resync?: true;
  [field: string]: unknown;
}

export type ClusterHandler = (event: ClusterEvent) => void;

// pg_notify refuses payloads of 8000 bytes or more: events name what changed, they do not carry it.
const MAX_PAYLOAD_BYTES = 4_000;
const RECONNECT_MS = [100, 500, 1_000, 2_000, 5_000];
const pgChannel = (channel: ClusterChannel) => `hotplane_${channel}`;

export interface ClusterBus {
  /** Sends `payload` to every replica, this one included, once `tx` commits. */
  publish(tx: DbTransaction, channel: ClusterChannel, payload?: Record<string, unknown>): Promise<void>;
  /** Sends `payload` at once, for a writer whose transaction has already committed. */
  announce(channel: ClusterChannel, payload?: Record<string, unknown>): Promise<void>;
  subscribe(channel: ClusterChannel, handler: ClusterHandler): () => void;
  close(): Promise<void>;
}

function encode(channel: ClusterChannel, origin: string, payload: Record<string, unknown>): string {
  if (!CLUSTER_CHANNELS.includes(channel)) throw new Error(`unknown cluster channel "${channel}": use one of ${CLUSTER_CHANNELS.join(', ')}`);
  const text = JSON.stringify({ ...payload, origin });
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new Error(`cluster event on ${channel} is ${Buffer.byteLength(text)} bytes, over ${MAX_PAYLOAD_BYTES}: send ids, not contents`);
  return text;
}

class Subscribers {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  subscribe(channel: ClusterChannel, handler: ClusterHandler) {
    this.emitter.on(channel, handler);
    return () => void this.emitter.off(channel, handler);
  }

  deliver(channel: ClusterChannel, event: ClusterEvent) {
    for (const handler of this.emitter.listeners(channel) as ClusterHandler[]) {
      try {
        handler(event);
      } catch (error) {
        console.error(`hotplane cluster: a ${channel} subscriber failed: ${(error as Error).message}`);
      }
    }
  }

  resyncAll(origin: string) {
    for (const channel of CLUSTER_CHANNELS) this.deliver(channel, { origin, resync: true });
  }
}

export class InProcessBus implements ClusterBus {
  private readonly subscribers = new Subscribers();

  constructor(private readonly replica = replicaId()) {}

  async publish(_tx: DbTransaction, channel: ClusterChannel, payload: Record<string, unknown> = {}) {
    const text = encode(channel, this.replica, payload);
    setImmediate(() => this.subscribers.deliver(channel, JSON.parse(text) as ClusterEvent));
  }

  async announce(channel: ClusterChannel, payload: Record<string, unknown> = {}) {
    this.subscribers.deliver(channel, JSON.parse(encode(channel, this.replica, payload)) as ClusterEvent);
  }

  subscribe(channel: ClusterChannel, handler: ClusterHandler) {
    return this.subscribers.subscribe(channel, handler);
  }

  async close() {}
}

export class PostgresBus implements ClusterBus {
  private readonly subscribers = new Subscribers();
  private client: pg.Client | null = null;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private listening: Promise<void> | null = null;
  /** Reconnections after the first, for the tests and the logs. */
  reconnects = 0;

  constructor(
    private readonly url: string,
    private readonly notifyOutside: (channel: string, text: string) => Promise<unknown>,
    private readonly replica = replicaId(),
    private readonly log: (line: string) => void = (line) => console.error(`hotplane cluster bus: ${line}`),
  ) {}

  /** Starts listening (a process that only publishes, such as the CLI, never opens the connection); resolves once LISTEN is in place. */
  get ready(): Promise<void> {
    this.listening ??= new Promise((resolve) => this.connect(resolve));
    return this.listening;
  }

  private connect(onListening: () => void) {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: `hotplane-bus ${this.replica}` });
    const again = (error: Error) => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners();
      void client.end().catch(() => undefined);
      if (this.closed) return;
      const delay = RECONNECT_MS[Math.min(this.attempt++, RECONNECT_MS.length - 1)];
      this.log(`listener lost (${error.message}); reconnecting in ${delay} ms`);
      this.retry = setTimeout(() => this.connect(onListening), delay);
      this.retry.unref();
    };
    this.client = client;
    client.on('error', again);
    client.on('end', () => again(new Error('connection ended')));
    client.on('notification', (message) => {
      const channel = message.channel.replace(/^hotplane_/, '') as ClusterChannel;
      if (!CLUSTER_CHANNELS.includes(channel) || !message.payload) return;
      try {
        this.subscribers.deliver(channel, JSON.parse(message.payload) as ClusterEvent);
      } catch {
        this.log(`unreadable event on ${message.channel} ignored`);
      }
    });
    client
      .connect()
      .then(async () => {
        for (const channel of CLUSTER_CHANNELS) await client.query(`LISTEN ${pgChannel(channel)}`);
        if (this.attempt > 0) {
          this.reconnects += 1;
          this.subscribers.resyncAll(this.replica);
        }
        this.attempt = 0;
        onListening();
      })
      .catch(again);
  }

  async publish(tx: DbTransaction, channel: ClusterChannel, payload: Record<string, unknown> = {}) {
    const text = encode(channel, this.replica, payload);
    // A SQLite transaction in a process configured for PostgreSQL (a tool, a test) has no replicas to tell.
    if (dialectOfDb(tx) !== 'postgresql') return void setImmediate(() => this.subscribers.deliver(channel, JSON.parse(text) as ClusterEvent));
    await tx.$executeRaw`SELECT pg_notify(${pgChannel(channel)}, ${text})`;
  }

  async announce(channel: ClusterChannel, payload: Record<string, unknown> = {}) {
    await this.notifyOutside(pgChannel(channel), encode(channel, this.replica, payload));
  }

  subscribe(channel: ClusterChannel, handler: ClusterHandler) {
    void this.ready;
    return this.subscribers.subscribe(channel, handler);
  }

  /** Ends the listener's connection as a network failure would: it reconnects (for the tests). */
  dropConnection() {
    const client = this.client as (pg.Client & { connection?: { stream?: { destroy(): void } } }) | null;
    client?.connection?.stream?.destroy();
  }

  async close() {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    client?.removeAllListeners();
    await client?.end().catch(() => undefined);
  }
}
