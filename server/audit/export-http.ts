import 'server-only';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { consoleOrigin } from '../auth/auth';
import { can } from '../auth/permissions';
import { actorOf, isCrossOriginRequest, resolveSessionUser } from '../auth/session';
import { db } from '../db/client';
import { appendAuditEvent } from './append';
import { exportConsoleTrail } from './console-trail';
import { AUDIT_EXPORT_FILES } from './export';

declare module './append' {
  interface ExtraAuditActions {
    'audit.export_refused': true;
  }
}

// A browser proves the export was asked for by the console's own page: POST carries Origin (or Sec-Fetch-Site),
// and a cookie request without either is refused too. API tokens (the CLI) are not sent by browsers on their own.
function notFromConsolePage(headers: Headers): boolean {
  return isCrossOriginRequest(headers, consoleOrigin()) || (!headers.get('origin') && !headers.get('sec-fetch-site'));
}

// One download for the auditor: the export folder's files as a single JSON document, each file's exact text
// under its name, so `hotplane audit verify-export` (or any tool) can write them back out and verify offline.
export async function handleAuditExportRequest(request: Request): Promise<Response> {
  if (request.method !== 'POST') {
    return Response.json({ error: 'METHOD_NOT_ALLOWED', message: 'the audit export is a POST (from the Audit page, or with an API token); a link cannot start it' }, { status: 405, headers: { allow: 'POST' } });
  }
  const user = await resolveSessionUser(request.headers);
  if (!user) return Response.json({ error: 'UNAUTHENTICATED', message: 'sign in first' }, { status: 401 });
  if (user.via === 'cookie' && notFromConsolePage(request.headers)) {
    const origin = request.headers.get('origin') ?? '(none)';
    await db().$transaction((tx) => appendAuditEvent(tx, { actor: actorOf(user), action: 'audit.export_refused', targetType: 'audit', targetId: 'export', details: { origin } }));
    return Response.json({ error: 'CROSS_ORIGIN', message: `cross-origin request refused (Origin ${origin}): export from the console's Audit page` }, { status: 403 });
  }
  if (!can(user.roles, 'audit.export')) {
    return Response.json({ error: 'FORBIDDEN', message: 'exporting the audit trail needs the auditor role' }, { status: 403 });
  }
  const { dir, manifest } = await exportConsoleTrail(db(), actorOf(user));
  try {
    const files: Record<string, string> = {};
    // A file the export lacks (no checkpoints yet) stays absent, so offline verification can say so.
    for (const name of Object.values(AUDIT_EXPORT_FILES)) {
      const text = await readFile(path.join(dir, name), 'utf8').catch(() => null);
      if (text !== null) files[name] = text;
    }
    const stamp = manifest.exportedAt.replace(/[:.]/g, '-');
    return new Response(JSON.stringify({ manifest, files }, null, 1), {
      headers: {
        'content-type': 'application/json',
        'content-disposition': `attachment; filename="hotplane-audit-${stamp}.json"`,
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
