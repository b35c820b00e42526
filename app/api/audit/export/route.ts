import { handleAuditExportRequest } from '@/server/audit/export-http';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return handleAuditExportRequest(request);
}

// Answered with 405 and what to do instead, rather than Next's bare 405.
export function GET(request: Request) {
  return handleAuditExportRequest(request);
}
