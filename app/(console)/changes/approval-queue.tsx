'use client';
import { useLiveApprovalQueue } from '@/app/live-queries';
import { ChangesTable } from '@/components/changes-table';
import { LiveNotice } from '@/components/live-notice';
import { QueryState } from '@/components/query-state';

/** Requests waiting for a sign-off that this approver did not propose, oldest first. */
export function ApprovalQueue() {
  const queue = useLiveApprovalQueue();
  return (
    <section aria-labelledby="queue-heading">
      <h2 id="queue-heading">Waiting for your approval</h2>
      <LiveNotice live={queue} />
      <QueryState {...queue.queryState}>
        {() => <ChangesTable changes={queue.data!.rows} label="Approval queue" empty="Nothing waits for you." />}
      </QueryState>
    </section>
  );
}
