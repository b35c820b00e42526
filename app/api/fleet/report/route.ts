import { acceptReport, consoleFleetDeps } from '@/server/fleet/fleet-http';

export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return acceptReport(consoleFleetDeps(), request);
}
