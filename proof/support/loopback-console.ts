import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../server/db/client';
import { toRequest, writeResponse } from './web-bridge';

// The console's HTTP surface on loopback, in this process: the very route handlers Next mounts (app/api/**/route.ts)
// behind node:http, on a fresh data folder bootstrapped in demo mode. Chosen over `next start` because those
// handlers are the whole server side of every request checked here (there is no middleware), and because a proof
// must test the sources as they are, within its time limit, rather than a .next build that may be stale or missing.
// The fleet API is the console's own TLS listener (server/fleet/fleet-listener.ts), started here as services.ts does.

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Response | Promise<Response>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

export interface LoopbackConsole {
  origin: string;
  port: number;
  /** The fleet listener (mutual TLS) and its CA certificate, for hosts (--control-plane, --console-ca). */
  fleetUrl: string;
  consoleCaFile: string;
  dataDir: string;
  demoPassword: string;
  db: Db;
  close(): Promise<void>;
}

async function loadRoutes(): Promise<Route[]> {
  const [authRoute, trpcRoute, upload, auditExport] = await Promise.all([
    import('../../app/api/auth/[...all]/route'),
    import('../../app/api/trpc/[trpc]/route'),
    import('../../app/api/artifacts/route'),
    import('../../app/api/audit/export/route'),
  ]);
  return [
    { pattern: /^\/api\/auth\//, methods: { GET: authRoute.GET, POST: authRoute.POST } },
    { pattern: /^\/api\/trpc\/[^/]+$/, methods: { GET: trpcRoute.GET, POST: trpcRoute.POST } },
    { pattern: /^\/api\/artifacts$/, methods: { POST: upload.POST } },
    { pattern: /^\/api\/audit\/export$/, methods: { GET: auditExport.GET, POST: auditExport.POST } },
  ];
}

/** Boots a demo console (accounts admin@, operator@, … @hotplane.local, all with `demoPassword`) and serves it. */
export async function startLoopbackConsole(env: Record<string, string> = {}): Promise<LoopbackConsole> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-proof-console-'));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://localhost:${port}`;
  const demoPassword = `proof-${Math.random().toString(36).slice(2)}-demo`;
  // Read once by server/config.ts, so it must all be in place before anything below imports the console.
  Object.assign(process.env, {
    HOTPLANE_DATA_DIR: dataDir,
    HOTPLANE_DEMO: '1',
    HOTPLANE_DEMO_PASSWORD: demoPassword,
    HOTPLANE_PUBLIC_ORIGIN: origin,
    HOTPLANE_EMBEDDED_HOST: '0',
    PORT: String(port),
    ...env,
  });
  const { bootstrapConsole } = await import('../../server/bootstrap/bootstrap');
  const { db } = await import('../../server/db/client');
  await bootstrapConsole(() => undefined);
  const routes = await loadRoutes();
  const { config } = await import('../../server/config');
  const { loadOrCreateFleetCa } = await import('../../server/fleet/identity/ca');
  const { startFleetListener } = await import('../../server/fleet/fleet-listener');
  const { fleetMetrics } = await import('../../server/fleet/metrics-store');
  const ca = await loadOrCreateFleetCa(config().fleet.caFile, config().fleet.trustDomain);
  const consoleCaFile = path.join(dataDir, 'fleet-ca.crt');
  writeFileSync(consoleCaFile, ca.certificatePem);
  const fleet = await startFleetListener({
    db: db(), metrics: fleetMetrics(), ca, port: 0, bind: '127.0.0.1', serverNames: ['127.0.0.1'], hostCertHours: 24,
    log: (line) => console.error(`loopback console: fleet: ${line}`),
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const pathname = (req.url ?? '/').split('?')[0];
    const route = routes.find((r) => r.pattern.test(pathname));
    const handler = route?.methods[req.method ?? 'GET'];
    if (!route || !handler) {
      res.writeHead(route ? 405 : 404).end();
      return;
    }
    const params = Promise.resolve({ ...route.pattern.exec(pathname)?.groups });
    Promise.resolve()
      .then(() => handler(toRequest(req, origin), { params }))
      .then((response) => writeResponse(res, response))
      .catch((error: unknown) => {
        // What Next does with a handler that throws: a bare 500, the error only in the server's log.
        console.error(`loopback console: ${req.method} ${pathname}: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  });

  return {
    origin,
    port,
    fleetUrl: `https://127.0.0.1:${fleet.port}`,
    consoleCaFile,
    dataDir,
    demoPassword,
    db: db(),
    async close() {
      await fleet.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db().$disconnect();
    },
  };
}
