import 'server-only';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { can } from '../auth/permissions';
import { actorOf, resolveSessionUser } from '../auth/session';
import { db } from '../db/client';
import { exportConsoleTrail } from './console-trail';
import { AUDIT_EXPORT_FILES } from './export';

// One download for the auditor: the export folder's files as a single JSON document, each file's exact text
// under its name, so `hotplane audit verify-export` (or any tool) can write them back out and verify offline.
export async function handleAuditExportRequest(request: Request): Promise<Response> {
  const user = await resolveSessionUser(request.headers);
  if (!user) return Response.json({ error: 'UNAUTHENTICATED', message: 'sign in first' }, { status: 401 });
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
