import { createReadStream, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../db/client';
import { demoRequestSource } from '../fleet/demo-requests';
import { readDesiredState } from '../fleet/desired-state';
import { EMBEDDED_HOST_ID } from '../fleet/hosts';
import type { FleetMetrics } from '../fleet/metrics-store';
import { ingestHostReport } from '../fleet/report-intake';
import { Host } from '../host/host';
import { enrolWithoutTls } from './host-identity';

// A real runtime host (real cells, real modules) wired to a test console without HTTP: it pulls the desired
// state and pushes its reports through the same functions the fleet listener calls, only more often, and a
// traffic generator calls its invoke path as applications would.

export interface InProcessHost {
  host: Host;
  /** Requests answered per version, counted by the test's traffic. */
  answered: Map<string, number>;
  /** Sends `perSecond` ledger requests a second until stopped (0 stops). */
  setTraffic(perSecond: number): void;
  /** Resolves once a sync (apply + report) has completed after this call. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

export async function startInProcessHost(db: Db, metrics: FleetMetrics, options: { syncMs?: number; reportMs?: number; trafficModule?: string } = {}): Promise<InProcessHost> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-test-host-'));
  await enrolWithoutTls(db, EMBEDDED_HOST_ID);
  const host = new Host({
    hostId: EMBEDDED_HOST_ID,
    dataDir,
    fetchArtifact: async (sm3) => {
      const version = await db.moduleVersion.findFirstOrThrow({ where: { sm3, status: 'accepted' } });
      return createReadStream(version.storePath);
    },
  }).start();
  const identity = { id: EMBEDDED_HOST_ID, name: EMBEDDED_HOST_ID };
  let waiters: (() => void)[] = [];
  let stopped = false;
  let syncing: Promise<void> = Promise.resolve();

  // Like server/host/agent.ts when `reportMs` is given: pull every `syncMs`, report when due, after an apply, or at
  // once on a crash; without it, every sync reports (what quick tests want).
  let lastReportAt = 0;
  const sync = async () => {
    // Its zone's state, as the desired-state handler serves it.
    const state = await db.$transaction(async (tx) => readDesiredState(tx, (await tx.host.findUniqueOrThrow({ where: { id: EMBEDDED_HOST_ID } })).zone));
    const applying = state.generation !== host.generation;
    if (applying) await host.applyDesiredState(state);
    if (options.reportMs === undefined || applying || host.reportDue(lastReportAt, options.reportMs)) {
      lastReportAt = Date.now();
      await ingestHostReport(db, metrics, identity, host.report());
    }
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };
  const syncTimer = setInterval(() => {
    syncing = syncing.then(() => (stopped ? undefined : sync())).catch(() => undefined);
  }, options.syncMs ?? 200);

  const trafficModule = options.trafficModule ?? 'ledger';
  const source = demoRequestSource(trafficModule)!;
  const answered = new Map<string, number>();
  let trafficTimer: NodeJS.Timeout | null = null;
  const TRAFFIC_TICK_MS = 20;
  const setTraffic = (perSecond: number) => {
    if (trafficTimer) clearInterval(trafficTimer);
    trafficTimer = null;
    if (perSecond <= 0) return;
    let owed = 0;
    trafficTimer = setInterval(() => {
      owed += (perSecond * TRAFFIC_TICK_MS) / 1000;
      for (; owed >= 1; owed--) {
        const request = source();
        void host.invoke(trafficModule, Buffer.from(request.body), { grayId: request.grayId ?? null }).then((result) => {
          if (result.version) answered.set(result.version, (answered.get(result.version) ?? 0) + 1);
        });
      }
    }, TRAFFIC_TICK_MS);
  };

  return {
    host,
    answered,
    setTraffic,
    synced: () => new Promise((resolve) => waiters.push(resolve)),
    async stop() {
      setTraffic(0);
      stopped = true;
      clearInterval(syncTimer);
      await syncing;
      await host.stop();
    },
  };
}
