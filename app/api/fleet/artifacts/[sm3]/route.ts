import { consoleFleetDeps, serveArtifact } from '@/server/fleet/fleet-http';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, { params }: { params: Promise<{ sm3: string }> }) {
  return serveArtifact(consoleFleetDeps(), request, (await params).sm3);
}
