import { consoleFleetDeps, serveDesiredState } from '@/server/fleet/fleet-http';

export const dynamic = 'force-dynamic';

export function GET(request: Request) {
  return serveDesiredState(consoleFleetDeps(), request);
}
