import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Db } from '../db/client';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError, DomainErrorCode } from '../errors';
import { FLEET_PATHS } from '../protocol';
import { requestOf, sendResponse } from './fetch-bridge';
import { acceptBreakGlass } from './break-glass-intake';
import { acceptReport, serveArtifact, serveDesiredState, type AuthenticatedHost } from './fleet-http';
import { hostIdOfSan, issueServerCertificate, type FleetCa } from './identity/ca';
import { enrolHost, renewHostCertificate, revokedSerials } from './identity/enrolment';
import { onRevocation } from './identity/revocations';
import { onHostRevoked } from '../cluster/cluster-bus';
import type { FleetMetrics } from './metrics-store';
import { auditReportProblem } from './report-intake';

// The fleet API on its own TLS port (docs/fleet.md#host-identity). Every route but enrolment needs a client
// certificate of the console's CA whose serial is not revoked; the host a request speaks for is the one its
// certificate's URI SAN names, never a header or a body.

const DENY_LIST_REFRESH_MS = 1_000;
const MAX_ENROLMENT_BYTES = 16 * 1024;

export interface FleetListenerOptions {
  db: Db;
  metrics: FleetMetrics;
  ca: FleetCa;
  port: number;
  bind: string;
  /** DNS names and IPs of the listener's own certificate. */
  serverNames: string[];
  hostCertHours: number;
  log: (line: string) => void;
}

export interface FleetListener {
  url: string;
  port: number;
  server: Server;
  /** How many TLS connections with a host certificate are open (tests watch a revoked host's drop to 0). */
  openConnections(hostId: string): number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const refusal = (res: ServerResponse, code: DomainErrorCode, message: string) => json(res, DOMAIN_ERROR_HTTP_STATUS[code], { error: code, message });

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new DomainError(DomainErrorCode.PayloadTooLarge, `the request body is over ${limit} bytes; send {"joinToken": …, "csr": PEM}`);
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (value && typeof value === 'object') return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new DomainError(DomainErrorCode.InvalidInput, 'the body is not a JSON object: send {"joinToken": "hpj_…", "csr": "-----BEGIN CERTIFICATE REQUEST-----…"}');
}

const text = (body: Record<string, unknown>, field: string) => {
  const value = body[field];
  if (typeof value !== 'string' || !value) throw new DomainError(DomainErrorCode.InvalidInput, `"${field}" is missing or not a string`);
  return value;
};

export async function startFleetListener(options: FleetListenerOptions): Promise<FleetListener> {
  const { db, ca } = options;
  // Loopback names always: the embedded host dials 127.0.0.1.
  const serverCertificate = await issueServerCertificate(ca, [...new Set([...options.serverNames, 'localhost', '127.0.0.1'])]);
  let denied = await revokedSerials(db);
  const socketsByHost = new Map<string, Set<TLSSocket>>();
  const serialOf = new WeakMap<TLSSocket, string>();

  const cut = (predicate: (socket: TLSSocket) => boolean) => {
    for (const sockets of socketsByHost.values()) for (const socket of sockets) if (predicate(socket)) socket.destroy();
  };
  const refreshTimer = setInterval(() => {
    revokedSerials(db)
      .then((serials) => {
        denied = serials;
        cut((socket) => denied.has(serialOf.get(socket) ?? ''));
      })
      .catch((error: Error) => options.log(`refreshing the certificate deny-list: ${error.message}`));
  }, DENY_LIST_REFRESH_MS);
  refreshTimer.unref();
  // A revocation made in this process at once; one made by another replica when its NOTIFY arrives (the cluster
  // bus); the database refresh above is the safety net for both.
  const revoke = ({ hostId, serials }: { hostId: string; serials: string[] }) => {
    for (const serial of serials) denied.add(serial);
    for (const socket of socketsByHost.get(hostId) ?? []) socket.destroy();
  };
  const stopListening = [onRevocation(revoke), onHostRevoked(revoke)];

  /** The host a connection's certificate names, or why it names none. */
  type Identity = { host: Omit<AuthenticatedHost, 'zone'>; serial: string } | { problem: string; revokedHostId?: string };
  const hostOfSocket = (socket: TLSSocket): Identity => {
    // A connection cut meanwhile (a revocation) has no peer certificate left to show.
    if (socket.destroyed) return { problem: 'the connection was closed by the console (a revocation?): reconnect' };
    if (!socket.authorized) {
      const sent = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
      const why = sent ? String(socket.authorizationError) : 'no client certificate was sent';
      return { problem: `the fleet API needs a client certificate of this console's CA (${why}): enrol the host (hotplane host --join-token-file FILE --console-ca FILE)` };
    }
    const certificate = socket.getPeerCertificate() ?? {};
    const serial = certificate.serialNumber?.toUpperCase() ?? '';
    const hostId = hostIdOfSan(certificate.subjectaltname, ca.trustDomain);
    if (!hostId) return { problem: `the client certificate names no host of trust domain ${ca.trustDomain} (URI SAN spiffe://${ca.trustDomain}/host/<id>)` };
    if (denied.has(serial)) return { problem: `certificate ${serial} of host "${hostId}" is revoked: enrol the host again with a new join token`, revokedHostId: hostId };
    if (Date.parse(certificate.valid_to) <= Date.now()) return { problem: `certificate ${serial} of host "${hostId}" expired at ${certificate.valid_to}: enrol the host again` };
    return { host: { id: hostId, name: hostId }, serial };
  };

  const server = createServer(
    { key: serverCertificate.keyPem, cert: serverCertificate.pem, ca: [ca.certificatePem], requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    (req, res) => void handle(req, res),
  );
  // Per connection: a revoked certificate is cut at the handshake, and the connection is remembered under its host
  // so a revocation can cut it later (a long poll included).
  server.on('secureConnection', (socket: TLSSocket) => {
    const identity = hostOfSocket(socket);
    if (!('host' in identity)) {
      // A revoked certificate is cut here, audited (at most once a minute per host); other refusals are answered per request.
      const hostId = identity.revokedHostId;
      if (hostId) {
        void db
          .$transaction((tx) => auditReportProblem(tx, { id: hostId, name: hostId }, 'host.connection_refused', { reason: identity.problem }))
          .catch((error: Error) => options.log(`auditing a refused connection: ${error.message}`))
          .finally(() => socket.destroy());
      }
      return;
    }
    const sockets = socketsByHost.get(identity.host.id) ?? new Set<TLSSocket>();
    socketsByHost.set(identity.host.id, sockets.add(socket));
    serialOf.set(socket, identity.serial);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && socketsByHost.get(identity.host.id) === sockets) socketsByHost.delete(identity.host.id);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const socket = req.socket as TLSSocket;
    const url = new URL(req.url ?? '/', 'https://fleet');
    try {
      if (url.pathname === FLEET_PATHS.enrol && req.method === 'POST') {
        const body = await readJson(req, MAX_ENROLMENT_BYTES);
        const grant = await enrolHost(db, ca, { joinToken: text(body, 'joinToken'), csr: text(body, 'csr') }, { hours: options.hostCertHours, remote: socket.remoteAddress });
        return json(res, 200, grant);
      }
      const identity = hostOfSocket(socket);
      if (!('host' in identity)) return refusal(res, DomainErrorCode.Unauthenticated, identity.problem);
      const row = await db.host.findUnique({ where: { id: identity.host.id }, select: { revokedAt: true, zone: true, lastSeenAt: true, createdAt: true } });
      if (!row || row.revokedAt) return refusal(res, DomainErrorCode.Unauthenticated, `host "${identity.host.id}" is not registered or was revoked: enrol it again with a new join token`);
      await route(req, res, { ...identity.host, zone: row.zone, seen: { lastSeenAt: row.lastSeenAt, createdAt: row.createdAt } }, url);
    } catch (error) {
      if (error instanceof DomainError) return refusal(res, error.code, error.message);
      options.log(`fleet request ${req.method} ${url.pathname}: ${(error as Error).stack}`);
      if (!res.headersSent) refusal(res, DomainErrorCode.Unavailable, 'the console failed this request; it is logged there. Retry shortly');
      else res.destroy();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, host: AuthenticatedHost, url: URL) {
    const deps = { db, metrics: options.metrics };
    const request = () => requestOf(req, res, `https://${req.headers.host ?? 'fleet'}`);
    if (url.pathname === FLEET_PATHS.renew && req.method === 'POST') {
      const body = await readJson(req, MAX_ENROLMENT_BYTES);
      return json(res, 200, await renewHostCertificate(db, ca, host.id, text(body, 'csr'), options.hostCertHours));
    }
    if (url.pathname === FLEET_PATHS.desiredState && req.method === 'GET') return sendResponse(req, res, await serveDesiredState(deps, host, request()));
    if (url.pathname === FLEET_PATHS.report && req.method === 'POST') return sendResponse(req, res, await acceptReport(deps, host, request()));
    if (url.pathname === FLEET_PATHS.breakGlass && req.method === 'POST') return sendResponse(req, res, await acceptBreakGlass(deps.db, host, request()));
    if (url.pathname.startsWith(FLEET_PATHS.artifactPrefix) && req.method === 'GET') {
      return sendResponse(req, res, await serveArtifact(deps, host, decodeURIComponent(url.pathname.slice(FLEET_PATHS.artifactPrefix.length))));
    }
    refusal(res, DomainErrorCode.NotFound, `no fleet route ${req.method} ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bind, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${options.serverNames[0] ?? '127.0.0.1'}:${port}`,
    port,
    server,
    openConnections: (hostId) => socketsByHost.get(hostId)?.size ?? 0,
    close: async () => {
      clearInterval(refreshTimer);
      for (const stop of stopListening) stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
