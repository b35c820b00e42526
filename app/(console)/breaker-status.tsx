'use client';
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { BreakerCountdown } from '@/components/breaker-countdown';
import { ReasonDialog } from '@/components/reason-dialog';

/** Nothing while a module's breaker is closed; a countdown (and for admins an override) while it is open. */
export function BreakerStatus({ module, canOverride }: { module: string; canOverride: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [asking, setAsking] = useState(false);
  const breaker = useQuery(trpc.rollouts.operate.breaker.queryOptions({ module }, { refetchInterval: 5_000 }));
  const override = useMutation(
    trpc.rollouts.operate.overrideBreaker.mutationOptions({
      onSuccess: () => {
        setAsking(false);
        return queryClient.invalidateQueries({ queryKey: trpc.rollouts.operate.breaker.queryKey({ module }) });
      },
    }),
  );
  const status = breaker.data;
  if (!status?.open || status.until === null) return null;
  return (
    <BreakerCountdown module={module} until={status.until} reason={status.reason}>
      {canOverride && (
        <>
          <button type="button" className="button secondary small" onClick={() => setAsking(true)}>
            Override breaker
          </button>
          <ReasonDialog
            open={asking}
            title={`Let rollouts of ${module} go ahead`}
            explanation="The next failed rollout opens the breaker again."
            confirmLabel="Override"
            pending={override.isPending}
            error={override.error?.message ?? null}
            onConfirm={(reason) => override.mutate({ module, reason })}
            onClose={() => setAsking(false)}
          />
        </>
      )}
    </BreakerCountdown>
  );
}
