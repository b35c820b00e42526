'use client';
import Link from 'next/link';
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ReasonDialog } from '@/components/reason-dialog';

export interface RollbackTarget {
  from: string;
  to: string;
  warm: boolean;
}

/** One click (and a reason) puts all of a module's traffic back on the version before. */
export function RollbackControl({ module, target }: { module: string; target: RollbackTarget }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [asking, setAsking] = useState(false);
  const rollback = useMutation(
    trpc.rollouts.operate.rollback.mutationOptions({
      onSuccess: () => {
        setAsking(false);
        return Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.rollouts.operate.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.fleet.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.rollouts.changes.pathKey() }),
        ]);
      },
    }),
  );
  return (
    <>
      <button type="button" className="button danger big" onClick={() => setAsking(true)} aria-label={`Roll back ${module}`}>
        Roll back to {target.to}
      </button>
      {rollback.data && (
        <p role="status" className="small" data-testid="rollback-review">
          Rolled back {rollback.data.from} → {rollback.data.to}; a review was opened: <Link href={`/reviews/${rollback.data.reviewId}`}>open the review</Link>
        </p>
      )}
      <ReasonDialog
        open={asking}
        title={`Roll back ${module} ${target.from} → ${target.to}`}
        explanation={
          target.warm
            ? `${target.to} is still loaded: all traffic moves to it at once. A post-incident review opens.`
            : `${target.to} is loaded afresh on every host, then takes all traffic. A post-incident review opens.`
        }
        confirmLabel="Roll back now"
        pending={rollback.isPending}
        error={rollback.error?.message ?? null}
        onConfirm={(reason) => rollback.mutate({ module, reason })}
        onClose={() => setAsking(false)}
      />
    </>
  );
}
