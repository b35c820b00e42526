'use client';
import Link from 'next/link';
import { useLiveTargets } from '@/app/live-queries';
import { WithdrawnVersionsAlert } from '@/components/withdrawn-versions-alert';
import { BreakerStatus } from '../../breaker-status';
import { RollbackControl } from '../../rollback-control';

/** Top of the module page: the running rollout, the breaker, and the one-click rollback. */
export function ModuleRollback({ module, canRollBack, canOverrideBreaker }: { module: string; canRollBack: boolean; canOverrideBreaker: boolean }) {
  const targets = useLiveTargets();
  const target = targets.data?.rows.find((t) => t.module === module);
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
            <span className="muted small">No break-glass: {target.rollback.why}</span>
          )}
        </div>
      )}
    </div>
  );
}
