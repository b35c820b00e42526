'use client';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ChangesTable } from '@/components/changes-table';
import { QueryState } from '@/components/query-state';

/** Requests waiting for a sign-off that this approver did not propose, oldest first. */
export function ApprovalQueue() {
  const trpc = useTRPC();
  const queue = useQuery(trpc.rollouts.changes.queue.queryOptions(undefined, { refetchInterval: 2_000 }));
  return (
    <section aria-labelledby="queue-heading">
      <h2 id="queue-heading">Waiting for your approval</h2>
      <QueryState isPending={queue.isPending} error={queue.error}>
        {() => <ChangesTable changes={queue.data!} label="Approval queue" empty="Nothing waits for you." />}
      </QueryState>
    </section>
  );
}
