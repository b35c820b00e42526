import 'server-only';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { db, type Db, type DbTransaction } from '../db/client';
import { databaseLocked } from '../db/lock-wait';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError, DomainErrorCode } from '../errors';
import { localArtifactPath } from '../artifacts/shared-bytes';
import { FLEET_HEADERS, LONG_POLL, hostReportSchema, MAX_REPORT_BYTES, type DesiredState } from '../protocol';
import { desiredStateTag, desiredStateWatch } from './desired-changes';
import { readDesiredState } from './desired-state';
import { fleetMetrics, type FleetMetrics } from './metrics-store';
import { ReportRefusal } from './report-bounds';
import { acceptHostReport, type HostSeen } from './report-intake';

// The hosts' side of the console (docs/fleet.md): pull the desired state, fetch artifacts, push reports. Served
// only by the fleet listener (fleet-listener.ts), which hands each handler the host its client certificate names.

export interface FleetHttpDeps {
  db: Db;
  metrics: FleetMetrics;
}

export const consoleFleetDeps = (): FleetHttpDeps => ({ db: db(), metrics: fleetMetrics() });

/** The host a request comes from: its certificate's URI SAN, checked against the deny-list and the hosts table. */
export interface AuthenticatedHost {
  id: string;
  name: string;
  /** Its zone, from its Host row: which zone's desired state it is sent (docs/fleet.md#zones). */
  zone: string;
  /** Its row's report times as read for this request, so the report intake needs no read of its own. */
  seen?: HostSeen;
}

function problem(code: DomainErrorCode, message: string, status = DOMAIN_ERROR_HTTP_STATUS[code]) {
  return Response.json({ error: code, message }, { status });
}

// If-None-Match may list several tags, weak or strong, or be "*".
function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export function serveDesiredState(deps: FleetHttpDeps, host: AuthenticatedHost, request: Request): Promise<Response> {
  return answerDomainErrors(() => desiredStateResponse(deps, host, request));
}

// Each version carries its signer's serial, so the host's load and unload events name it (docs/host.md).
async function withSignerSerials(tx: DbTransaction, state: DesiredState): Promise<DesiredState> {
  const digests = state.modules.flatMap((m) => m.versions.map((v) => v.sm3));
  const rows = await tx.moduleVersion.findMany({ where: { sm3: { in: digests } }, select: { sm3: true, signer: { select: { serial: true } } } });
  const serials = new Map(rows.map((r) => [r.sm3, r.signer.serial]));
  return {
    ...state,
    modules: state.modules.map((m) => ({ ...m, versions: m.versions.map((v) => (serials.has(v.sm3) ? { ...v, signerSerial: serials.get(v.sm3) } : v)) })),
  };
}

/** The long-poll's wait in milliseconds (`?wait=S`, clamped to LONG_POLL.maxSeconds), 0 without one. */
function longPollWaitMs(request: Request): number | Response {
  const text = new URL(request.url).searchParams.get(LONG_POLL.param);
  if (text === null) return 0;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(seconds)) {
    return problem(DomainErrorCode.InvalidInput, `?${LONG_POLL.param}= is a number of seconds (0 to ${LONG_POLL.maxSeconds}), not "${text.slice(0, 40)}"`);
  }
  return Math.min(seconds, LONG_POLL.maxSeconds) * 1000;
}

async function desiredStateResponse(deps: FleetHttpDeps, host: AuthenticatedHost, request: Request): Promise<Response> {
  const waitMs = longPollWaitMs(request);
  if (waitMs instanceof Response) return waitMs;
  // The cheap path: two small reads answer an unchanged poll. A long-poll is then held by the process's watch
  // (desired-changes.ts), which reads the tag for all waiting hosts at once, and answered when it changes.
  const headers = { 'cache-control': 'no-cache' };
  const ifNoneMatch = request.headers.get(FLEET_HEADERS.ifNoneMatch);
  const tag = await desiredStateTag(deps.db);
  if (etagMatches(ifNoneMatch, tag) && waitMs > 0) {
    const watch = desiredStateWatch(deps.db);
    const outcome = await watch.waitForChange(tag, waitMs, request.signal);
    if (outcome !== 'changed') return new Response(null, { status: 304, headers: { ...headers, etag: tag } });
    // Every host woken by this change gets the same state, read once for all of them.
    const { state, etag } = await watch.sharedSinceChange(`zone:${host.zone}`, () => readStateWithTag(deps.db, host.zone));
    return Response.json(state, { headers: { ...headers, etag } });
  }
  if (etagMatches(ifNoneMatch, tag)) return new Response(null, { status: 304, headers: { ...headers, etag: tag } });
  const { state, etag } = await readStateWithTag(deps.db, host.zone);
  return Response.json(state, { headers: { ...headers, etag } });
}

function readStateWithTag(db: Db, zone: string): Promise<{ state: DesiredState; etag: string }> {
  return db.$transaction(async (tx) => {
    // The host's zone's state: every zone change raises the generation, so the tag changes for the hosts it concerns too.
    const desired = await withSignerSerials(tx, await readDesiredState(tx, zone));
    const revoked = await tx.moduleVersion.findMany({ where: { status: { not: 'accepted' } }, select: { sm3: true }, orderBy: { sm3: 'asc' } });
    return { state: revoked.length > 0 ? { ...desired, revoked: revoked.map((v) => v.sm3) } : desired, etag: await desiredStateTag(tx) };
  });
}

export async function serveArtifact(deps: FleetHttpDeps, _host: AuthenticatedHost, sm3: string): Promise<Response> {
  const digest = sm3.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digest)) return problem(DomainErrorCode.NotFound, `"${sm3}" is not an SM3 digest`);
  const versions = await deps.db.moduleVersion.findMany({ where: { sm3: digest } });
  if (versions.length === 0) return problem(DomainErrorCode.NotFound, `no accepted artifact has SM3 ${digest}`);
  const accepted = versions.find((v) => v.status === 'accepted');
  if (!accepted) {
    const v = versions[0];
    return problem(DomainErrorCode.NotFound, `${v.moduleName} ${v.version} is revoked (${v.revokedReason ?? 'no reason given'}) and is never served`, 410);
  }
  // Any replica serves any accepted version: a file not in this replica's store is written from the database first.
  const local = await localArtifactPath(deps.db, digest).catch((error: Error) => error);
  const file = typeof local === 'string' ? await stat(local).catch(() => null) : null;
  // A lost file is the console's fault, but a stack trace per host poll helps nobody: the host fails that version
  // alone and shows this message; the rest of its desired state applies.
  if (typeof local !== 'string' || !file) {
    return problem(
      DomainErrorCode.Unavailable,
      `the console has lost the bytes of ${accepted.moduleName} ${accepted.version} (${typeof local === 'string' ? local : local.message}): upload that version again, or move its traffic to another version`,
    );
  }
  return new Response(Readable.toWeb(createReadStream(local)) as ReadableStream<Uint8Array>, {
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(file.size),
      'cache-control': 'no-store',
      etag: `"${digest}"`,
      'x-hotplane-module': accepted.moduleName,
      'x-hotplane-version': accepted.version,
    },
  });
}

// Reads at most `limit` bytes; null when the body is larger (the rest is not read).
export async function readLimitedText(request: Request, limit: number): Promise<string | null> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function acceptReport(deps: FleetHttpDeps, host: AuthenticatedHost, request: Request): Promise<Response> {
  const tooLarge = () => problem(DomainErrorCode.PayloadTooLarge, `a report is at most ${MAX_REPORT_BYTES} bytes (MAX_REPORT_BYTES); report more often`);
  if (Number(request.headers.get('content-length') ?? 0) > MAX_REPORT_BYTES) return tooLarge();
  const text = await readLimitedText(request, MAX_REPORT_BYTES);
  if (text === null) return tooLarge();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return problem(DomainErrorCode.InvalidInput, 'the report is not JSON');
  }
  const parsed = hostReportSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'report'}: ${i.message}`);
    return problem(DomainErrorCode.InvalidInput, `not a HostReport: ${issues.join('; ')}`);
  }
  // Whose report it is, the certificate says: a host id in the body is overwritten, never believed.
  const report = { ...parsed.data, hostId: host.id };
  return answerDomainErrors(async () => Response.json(await acceptHostReport(deps.db, deps.metrics, host, report, host.seen)));
}

// A domain refusal (a database locked elsewhere included) is answered with its status and words; a host retries a
// 503 with its next poll, its unsent report with it.
async function answerDomainErrors(handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    const refusal = error instanceof DomainError ? error : databaseLocked(error);
    if (refusal) return problem(refusal.code, refusal.message, refusal instanceof ReportRefusal ? refusal.status : undefined);
    throw error;
  }
}
