'use client';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ChangesTable } from '@/components/changes-table';
import { QueryState } from '@/components/query-state';

export function ChangesView() {
  const trpc = useTRPC();
  const changes = useQuery(trpc.rollouts.changes.list.queryOptions({}, { refetchInterval: 2_000 }));
  return (
    <QueryState isPending={changes.isPending} error={changes.error}>
      {() => <ChangesTable changes={changes.data!} />}
    </QueryState>
  );
}
