'use client';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { OverviewSections } from '@/components/overview-sections';
import { QueryState } from '@/components/query-state';

const REFRESH_MS = 5_000;

export function OverviewView() {
  const trpc = useTRPC();
  const overview = useQuery(trpc.overview.get.queryOptions(undefined, { refetchInterval: REFRESH_MS }));
  return (
    <QueryState isPending={overview.isPending} error={overview.error}>
      {() => <OverviewSections overview={overview.data!} />}
    </QueryState>
  );
}
