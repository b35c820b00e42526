'use client';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { QueryState } from '@/components/query-state';
import { WithdrawnVersionsAlert } from '@/components/withdrawn-versions-alert';
import { RuntimeStatCells } from '@/components/runtime-stat-cells';
import { RollbackControl } from '../rollback-control';

/** One row per module: what runs, how it is doing, and the rollback button (or why there is nothing to roll back to). */
export function OnCallView({ canRollBack }: { canRollBack: boolean }) {
  const trpc = useTRPC();
  const targets = useQuery(trpc.rollouts.operate.targets.queryOptions(undefined, { refetchInterval: 1_000 }));
  const dashboard = useQuery(trpc.fleet.dashboard.queryOptions(undefined, { refetchInterval: 1_000 }));
  return (
    <QueryState isPending={targets.isPending} error={targets.error}>
      {() =>
        targets.data!.length === 0 ? (
          <p className="muted">No module runs on any host yet.</p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Modules on call">
              <thead>
                <tr>
                  <th>Module</th>
                  <th>Versions · weight</th>
                  <th>Health</th>
                  <th>Requests/s</th>
                  <th>Errors</th>
                  <th>Rollout</th>
                  <th>Roll back</th>
                </tr>
              </thead>
              <tbody>
                {targets.data!.map((t) => {
                  const runtime = dashboard.data?.modules.find((m) => m.module === t.module);
                  return (
                    <tr key={t.module} data-module={t.module}>
                      <td>
                        <Link href={`/modules/${t.module}`}>{t.module}</Link>
                      </td>
                      <td className="mono small" data-testid="weights">
                        {t.versions.map((v) => `${v.version} ${v.weight}%`).join(' · ') || 'unloaded'}
                        <WithdrawnVersionsAlert module={t.module} withdrawn={t.withdrawn} compact />
                      </td>
                      <RuntimeStatCells runtime={runtime} />
                      <td>
                        {t.activeChangeRequest ? (
                          <Link href={`/changes/${t.activeChangeRequest.id}`}>
                            {t.activeChangeRequest.id} ({t.activeChangeRequest.state})
                          </Link>
                        ) : (
                          <span className="muted small">none</span>
                        )}
                      </td>
                      <td>
                        {!t.rollback.possible ? (
                          <span className="muted small">{t.rollback.why}</span>
                        ) : canRollBack ? (
                          <RollbackControl module={t.module} target={t.rollback} />
                        ) : (
                          <span className="small">
                            would go to {t.rollback.to}
                          </span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )
      }
    </QueryState>
  );
}
