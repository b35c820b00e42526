'use client';
import Link from 'next/link';
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ReasonDialog } from '@/components/reason-dialog';
import type { RollbackDone } from './rollback-confirmation';

export interface RollbackTarget {
  from: string;
  to: string;
  warm: boolean;
}

/**
 * One click (and a reason) puts all of a module's traffic back on the version before. The button names that
 * version and whether it is still loaded on the hosts (warm: traffic moves at once) or loads afresh.
 */
export function RollbackControl({ module, target, onDone }: { module: string; target: RollbackTarget; onDone?: (done: RollbackDone) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [asking, setAsking] = useState(false);
  const rollback = useMutation(
    trpc.rollouts.operate.rollback.mutationOptions({
      onSuccess: (result) => {
        setAsking(false);
        onDone?.({ module, to: result.to, reviewId: result.reviewId });
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
      <button type="button" className="button danger big" onClick={() => setAsking(true)}>
        Roll back {module} to {target.to}
      </button>
      <span className="small muted" data-testid="rollback-warmth">
        {target.warm ? ` ${target.to} still loaded (warm)` : ` ${target.to} not loaded: loads afresh`}
      </span>
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
