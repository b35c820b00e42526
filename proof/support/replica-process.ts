import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { exited, freePort } from '../../server/testing/processes';
import type { ReplicaMessage } from './fleet-replica';

// A console replica (fleet-replica.ts) in its own process: its own data folder and fleet port, the database, CA and
// console key its siblings share. Killed with SIGKILL for the takeover, started again on the same port and folder.

export interface ReplicaProcess {
  name: string;
  fleetUrl: string;
  /** The replica id it announced (`host:pid:random`), as the lease and the audit trail name it. */
  id: string;
  pid: number;
  alive(): boolean;
  /** The lease epoch it holds, or null; null as well when it does not answer within a second. */
  leaseEpoch(): Promise<number | null>;
  kill(): Promise<void>;
  /** A clean stop (it resigns the lease). */
  stop(): Promise<void>;
  /** The last lines it wrote to stderr, for a failure's message. */
  lastLines(): string;
}

export interface ReplicaSettings {
  name: string;
  dir: string;
  env: Record<string, string>;
  port?: number;
}

export async function startReplicaProcess(settings: ReplicaSettings): Promise<ReplicaProcess> {
  const port = settings.port ?? (await freePort());
  const dataDir = path.join(settings.dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const stderr: string[] = [];
  const child: ChildProcess = fork(path.resolve('proof/support/fleet-replica.ts'), [], {
    execArgv: ['--conditions=react-server', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...settings.env, HOTPLANE_DATA_DIR: dataDir, HOTPLANE_FLEET_PORT: String(port), HOTPLANE_EMBEDDED_HOST: '0' },
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr.push(text);
    if (stderr.length > 200) stderr.splice(0, 100);
  });
  const ready = await new Promise<Extract<ReplicaMessage, { type: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${settings.name} not ready within 60 s: ${stderr.join('').slice(-800)}`)), 60_000);
    child.on('message', (message: ReplicaMessage) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code, signal) => reject(new Error(`replica ${settings.name} exited (${code ?? signal}) before it was ready: ${stderr.join('').slice(-800)}`)));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name: settings.name,
    fleetUrl: `https://127.0.0.1:${port}`,
    id: ready.replica,
    pid: ready.pid,
    alive,
    leaseEpoch() {
      if (!alive()) return Promise.resolve(null);
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish(null), 1_000);
        const onMessage = (message: ReplicaMessage) => message.type === 'lease' && finish(message.epoch);
        function finish(epoch: number | null) {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(epoch);
        }
        child.on('message', onMessage);
        child.send({ type: 'lease?' });
      });
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
    },
    lastLines: () => stderr.join('').split('\n').filter(Boolean).slice(-4).join(' | '),
  };
}

/** The port a replica listens on, to start it again in the same place. */
export const portOf = (replica: ReplicaProcess) => Number(new URL(replica.fleetUrl).port);
