import type { Metadata } from 'next';
import { prefetch, Prefetched, serverTrpc } from '@/app/server-prefetch';
import { PageHead } from '@/components/page-head';
import { ModulesTable } from './modules-table';

export const metadata: Metadata = { title: 'Modules' };

export default async function ModulesPage() {
  const trpc = await serverTrpc();
  await prefetch((client) => [client.prefetchQuery(trpc.modules.list.queryOptions()), client.prefetchQuery(trpc.live.dashboardNow.queryOptions())]);
  return (
    <>
      <PageHead title="Modules" subtitle="Every module in the registry, its latest accepted version and who signed it." />
      <Prefetched>
        <ModulesTable />
      </Prefetched>
    </>
  );
}
