'use client';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { formatClock } from '@/components/time';

export interface RollbackDone {
  module: string;
  to: string;
  reviewId: string;
}

const CONFIRM_POLL_MS = 1_000;

/** After a break-glass: waiting until the hosts report the version back, then the time they confirmed it. */
export function RollbackConfirmation({ done }: { done: RollbackDone }) {
  const trpc = useTRPC();
  const reviews = useQuery(
    trpc.rollouts.operate.reviews.queryOptions(
      { module: done.module, limit: 20 },
      { refetchInterval: (query) => (query.state.data?.some((r) => r.id === done.reviewId && r.confirmedAt) ? false : CONFIRM_POLL_MS) },
    ),
  );
  const confirmedAt = reviews.data?.find((r) => r.id === done.reviewId)?.confirmedAt;
  if (!confirmedAt) {
    return (
      <p role="status" className="small muted" data-testid="rollback-waiting">
        Rolled back to {done.to} — waiting for the hosts to confirm…
      </p>
    );
  }
  const at = new Date(confirmedAt);
  return (
    <p role="status" className="notice small" data-testid="rollback-confirmed">
      Hosts confirmed {done.to} at <time dateTime={at.toISOString()}>{formatClock(at)}</time>
    </p>
  );
}
