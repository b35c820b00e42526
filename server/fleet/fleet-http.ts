import 'server-only';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { db, type Db, type DbTransaction } from '../db/client';
import { databaseLocked } from '../db/lock-wait';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError, DomainErrorCode } from '../errors';
import type { DesiredState } from '../host/types';
import { currentGeneration, readDesiredState } from './desired-state';
import { authenticateHost, revokedHostOf } from './hosts';
import { fleetMetrics, type FleetMetrics } from './metrics-store';
import { ReportRefusal } from './report-bounds';
import { auditReportProblem, ingestHostReport } from './report-intake';
import { hostReportSchema, MAX_REPORT_BYTES } from './report-schema';

// The hosts' side of the console (docs/fleet.md): pull the desired state, fetch artifacts, push reports.
// Authenticated by host tokens only, never by cookies, so no browser can be made to call these.

export interface FleetHttpDeps {
  db: Db;
  metrics: FleetMetrics;
}

export const consoleFleetDeps = (): FleetHttpDeps => ({ db: db(), metrics: fleetMetrics() });

function problem(code: DomainErrorCode, message: string, status = DOMAIN_ERROR_HTTP_STATUS[code]) {
  return Response.json({ error: code, message }, { status });
}

const unauthenticated = () =>
  problem(DomainErrorCode.Unauthenticated, 'send Authorization: Bearer <host token> of a registered, unrevoked host');

// If-None-Match may list several tags, weak or strong, or be "*".
function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export function serveDesiredState(deps: FleetHttpDeps, request: Request): Promise<Response> {
  return answerDomainErrors(() => desiredStateResponse(deps, request));
}

// The tag names the generation and how many versions are revoked: a revocation changes no generation, but the
// hosts must learn it at once (their local admin may not bring a revoked version back).
async function desiredStateTag(db: Db | DbTransaction): Promise<string> {
  const [generation, revoked] = await Promise.all([currentGeneration(db), db.moduleVersion.count({ where: { status: { not: 'accepted' } } })]);
  return `"${generation}.${revoked}"`;
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

async function desiredStateResponse(deps: FleetHttpDeps, request: Request): Promise<Response> {
  const host = await authenticateHost(deps.db, request.headers);
  if (!host) return unauthenticated();
  // The cheap path: two small reads answer an unchanged poll.
  const headers = { 'cache-control': 'no-cache' };
  const tag = await desiredStateTag(deps.db);
  if (etagMatches(request.headers.get('if-none-match'), tag)) return new Response(null, { status: 304, headers: { ...headers, etag: tag } });
  const { state, etag } = await deps.db.$transaction(async (tx) => {
    // The host's zone's state: every zone change raises the generation, so the tag changes for the hosts it concerns too.
    const desired = await withSignerSerials(tx, await readDesiredState(tx, host.zone));
    const revoked = await tx.moduleVersion.findMany({ where: { status: { not: 'accepted' } }, select: { sm3: true }, orderBy: { sm3: 'asc' } });
    return { state: revoked.length > 0 ? { ...desired, revoked: revoked.map((v) => v.sm3) } : desired, etag: await desiredStateTag(tx) };
  });
  return Response.json(state, { headers: { ...headers, etag } });
}

export async function serveArtifact(deps: FleetHttpDeps, request: Request, sm3: string): Promise<Response> {
  if (!(await authenticateHost(deps.db, request.headers))) return unauthenticated();
  const digest = sm3.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digest)) return problem(DomainErrorCode.NotFound, `"${sm3}" is not an SM3 digest`);
  const versions = await deps.db.moduleVersion.findMany({ where: { sm3: digest } });
  if (versions.length === 0) return problem(DomainErrorCode.NotFound, `no accepted artifact has SM3 ${digest}`);
  const accepted = versions.find((v) => v.status === 'accepted');
  if (!accepted) {
    const v = versions[0];
    return problem(DomainErrorCode.NotFound, `${v.moduleName} ${v.version} is revoked (${v.revokedReason ?? 'no reason given'}) and is never served`, 410);
  }
  const file = await stat(accepted.storePath).catch(() => null);
  // A lost file is the console's fault, but a stack trace per host poll helps nobody: the host fails that version
  // alone and shows this message; the rest of its desired state applies.
  if (!file) {
    return problem(
      DomainErrorCode.Unavailable,
      `the console's artifact store has lost the file of ${accepted.moduleName} ${accepted.version} (${accepted.storePath}): upload that version again, or move its traffic to another version`,
    );
  }
  return new Response(Readable.toWeb(createReadStream(accepted.storePath)) as ReadableStream<Uint8Array>, {
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
async function readLimitedText(request: Request, limit: number): Promise<string | null> {
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

export async function acceptReport(deps: FleetHttpDeps, request: Request): Promise<Response> {
  const host = await authenticateHost(deps.db, request.headers);
  if (!host) return refuseUnauthenticatedReport(deps, request);
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
  return answerDomainErrors(async () => Response.json(await ingestHostReport(deps.db, deps.metrics, host, parsed.data)));
}

// A revoked host's reports are refused and say why; the refusal is audited (at most once a minute per host).
async function refuseUnauthenticatedReport(deps: FleetHttpDeps, request: Request): Promise<Response> {
  const revoked = await revokedHostOf(deps.db, request.headers);
  if (!revoked) return unauthenticated();
  const message = `host "${revoked.id}" was revoked at ${revoked.revokedAt!.toISOString()}: its reports are refused; register it again for a new token`;
  await deps.db.$transaction((tx) => auditReportProblem(tx, revoked, 'host.report_refused', { status: 401, reason: message }));
  return problem(DomainErrorCode.Unauthenticated, message);
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
