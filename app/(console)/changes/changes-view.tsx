'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { usePathname, useSearchParams } from 'next/navigation';
import { useTRPC, useTRPCClient } from '@/app/trpc';
import { ChangesFilters } from '@/components/changes-filters';
import { ChangesTable } from '@/components/changes-table';
import { QueryState } from '@/components/query-state';
import { filterFromSearch, listInput, searchOf, type ChangesFilter } from './changes-filter';

const PAGE = 50;

export function ChangesView({ canApprove }: { canApprove: boolean }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const pathname = usePathname();
  const filter = filterFromSearch(new URLSearchParams(useSearchParams().toString()));
  const input = listInput(filter);
  const changes = useInfiniteQuery({
    queryKey: [...trpc.rollouts.changes.list.queryKey(input), 'pages'],
    queryFn: ({ pageParam }) => client.rollouts.changes.list.query({ ...input, limit: PAGE, before: pageParam }),
    initialPageParam: undefined as string | undefined,
    // A full page may have more behind it: the next page starts before its oldest row.
    getNextPageParam: (last) => (last.length < PAGE ? undefined : new Date(last[last.length - 1].createdAt).toISOString()),
    refetchInterval: 5_000,
  });
  // The history API, not router.replace: Next syncs useSearchParams with it and skips a server round trip.
  const setFilter = (next: ChangesFilter) => window.history.replaceState(null, '', `${pathname}${searchOf(next)}`);
  const filtered = filter.state.length > 0 || filter.module !== '' || filter.mine || filter.waitingForMe;
  return (
    <div className="stack">
      <ChangesFilters filter={filter} canApprove={canApprove} onChange={setFilter} />
      <QueryState isPending={changes.isPending} error={changes.error}>
        {() => (
          <>
            <ChangesTable changes={changes.data!.pages.flat()} empty={filtered ? 'No change request matches these filters.' : 'No change requests yet.'} />
            {changes.hasNextPage && (
              <button type="button" className="button secondary" onClick={() => changes.fetchNextPage()} disabled={changes.isFetchingNextPage}>
                Show older requests
              </button>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
