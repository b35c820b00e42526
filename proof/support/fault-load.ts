import { Worker } from 'node:worker_threads';
import type { LoadOptions, RequestRecord } from './load-worker';

// Sustained invoke traffic for the fault proof (load-worker.ts does the sending, in its own thread) and the
// records of every request it sent, in the order their answers arrived.

export interface FaultLoad {
  readonly records: readonly RequestRecord[];
  setRate(perSecond: number): void;
  /** Stops sending, waits for the calls in flight to end, and keeps their records (once; later calls wait alike). */
  stop(): Promise<void>;
}

export function startFaultLoad(options: LoadOptions): FaultLoad {
  const records: RequestRecord[] = [];
  // Node 20 does not carry `--import tsx` into a worker in time for its entry module: the worker registers tsx
  // itself, then imports the TypeScript entry.
  const entry = JSON.stringify(new URL('./load-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: options });
  worker.on('message', (batch: RequestRecord[]) => {
    for (const record of batch) records.push(record);
  });
  let failed: Error | null = null;
  let stopped: Promise<void> | undefined;
  worker.once('error', (error) => (failed = error));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    records,
    setRate: (perSecond) => worker.postMessage({ perSecond }),
    stop() {
      stopped ??= (async () => {
        worker.postMessage({ stop: true });
        await exited;
        if (failed) throw failed;
      })();
      return stopped;
    },
  };
}
