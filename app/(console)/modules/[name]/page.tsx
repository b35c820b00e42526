import type { Metadata } from 'next';
import { canOverrideBreaker, canRollBack, canProposeChanges } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { prefetch, Prefetched, serverTrpc } from '@/app/server-prefetch';
import { ModuleDetail } from './module-detail';

// The window the runtime section opens with (runtime-section.tsx).
const FIRST_WINDOW_SECONDS = 300;

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  return { title: `Module ${decodeURIComponent((await params).name)}` };
}

export default async function ModulePage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const [user, trpc] = await Promise.all([currentUser(), serverTrpc()]);
  const roles = user?.roles ?? [];
  // The detail, the runtime and the charts' first window are otherwise three nested round trips after hydration; the
  // live hooks (app/use-live-query.ts) start from these and their streams take over.
  await prefetch((client) => [
    client.prefetchQuery(trpc.modules.detail.queryOptions({ name })),
    client.prefetchQuery(trpc.fleet.moduleRuntime.queryOptions({ module: name })),
    client.prefetchQuery(trpc.live.metricsWindow.queryOptions({ module: name, seconds: FIRST_WINDOW_SECONDS })),
    client.prefetchQuery(trpc.rollouts.operate.reviews.queryOptions({ open: true, module: name })),
    client.prefetchQuery(trpc.rollouts.operate.targets.queryOptions()),
    client.prefetchQuery(trpc.rollouts.operate.breaker.queryOptions({ module: name })),
  ]);
  return (
    <Prefetched>
      <ModuleDetail name={name} may={{ proposeChanges: canProposeChanges(roles), rollBack: canRollBack(roles), overrideBreaker: canOverrideBreaker(roles) }} />
    </Prefetched>
  );
}
