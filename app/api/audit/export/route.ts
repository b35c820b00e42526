import { handleAuditExportRequest } from '@/server/audit/export-http';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return handleAuditExportRequest(request);
}
