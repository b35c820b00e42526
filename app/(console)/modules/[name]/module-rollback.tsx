'use client';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { WithdrawnVersionsAlert } from '@/components/withdrawn-versions-alert';
import { BreakerStatus } from '../../breaker-status';
import { RollbackControl } from '../../rollback-control';

/** Top of the module page: the running rollout, the breaker, and the one-click rollback. */
export function ModuleRollback({ module, canRollBack, canOverrideBreaker }: { module: string; canRollBack: boolean; canOverrideBreaker: boolean }) {
  const trpc = useTRPC();
  const targets = useQuery(trpc.rollouts.operate.targets.queryOptions(undefined, { refetchInterval: 2_000 }));
  const target = targets.data?.find((t) => t.module === module);
  return (
    <div className="stack" style={{ marginBottom: 12 }}>
      <BreakerStatus module={module} canOverride={canOverrideBreaker} />
      {target && <WithdrawnVersionsAlert module={module} withdrawn={target.withdrawn} />}
      {target && (
        <div className="row panel">
          {target.activeChangeRequest ? (
            <span>
              Rollout in progress:{' '}
              <Link href={`/changes/${target.activeChangeRequest.id}`}>
                {target.activeChangeRequest.id} ({target.activeChangeRequest.state})
              </Link>
            </span>
          ) : (
            <span className="muted">No rollout in progress.</span>
          )}
          <div className="spacer" />
          {target.rollback.possible ? (
            canRollBack && <RollbackControl module={module} target={target.rollback} />
          ) : (
            <span className="muted small">Nothing to roll back to: {target.rollback.why}</span>
          )}
        </div>
      )}
    </div>
  );
}
