import type { WithdrawnRunning } from '@/server/rollout/withdrawn-running';

/** Running versions that may no longer run (signer revoked, manifest expired), shown beside the one-click rollback. */
export function WithdrawnVersionsAlert({ module, withdrawn, compact = false }: { module: string; withdrawn: WithdrawnRunning[]; compact?: boolean }) {
  if (withdrawn.length === 0) return null;
  return (
    <div role="alert" className={compact ? 'small' : 'redline-box'} data-testid="withdrawn-running">
      {withdrawn.map((w) => (
        <div key={w.version}>
          <span className="badge signer-revoked">runs but may not</span> <strong>{module} {w.version}</strong> ({w.weight}%): {w.reason}.
          {!compact && ' Roll it back.'}
        </div>
      ))}
    </div>
  );
}
