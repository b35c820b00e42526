'use client';
import { useState } from 'react';
import Link from 'next/link';
import { useLiveDashboard, useLiveTargets } from '@/app/live-queries';
import { LiveNotice } from '@/components/live-notice';
import { QueryState } from '@/components/query-state';
import { RuntimeStatCells } from '@/components/runtime-stat-cells';
import { Sparkline } from '@/components/sparkline';
import { WithdrawnVersionsAlert } from '@/components/withdrawn-versions-alert';
import { PostIncidentReviews } from '../post-incident-reviews';
import { RollbackConfirmation, type RollbackDone } from '../rollback-confirmation';
import { RollbackControl } from '../rollback-control';

const ms = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${value.toFixed(1)} ms`);

/**
 * One row per module: what runs, how it is doing, and the rollback button (or why there is nothing to roll back
 * to). Fed by push; when the console stops answering the last known rows stay, with their age, and the button
 * stays usable.
 */
export function OnCallView({ canRollBack }: { canRollBack: boolean }) {
  const targets = useLiveTargets();
  const dashboard = useLiveDashboard();
  const [rolledBack, setRolledBack] = useState<Record<string, RollbackDone>>({});
  const onDone = (done: RollbackDone) => setRolledBack((all) => ({ ...all, [done.module]: done }));
  return (
    <>
      <PostIncidentReviews />
      <LiveNotice live={[targets, dashboard].find((l) => l.failing) ?? [targets, dashboard].find((l) => l.mode === 'polling') ?? targets} />
      <QueryState {...targets.queryState}>
        {() =>
          targets.data!.rows.length === 0 ? (
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
                    <th>p95</th>
                    <th>p99</th>
                    <th>Last minute</th>
                    <th>Rollout</th>
                    <th>Roll back</th>
                  </tr>
                </thead>
                <tbody>
                  {targets.data!.rows.map((t) => {
                    const runtime = dashboard.data?.rows.find((m) => m.module === t.module);
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
                        <td data-testid="p95">{ms(runtime?.p95Ms)}</td>
                        <td data-testid="p99">{ms(runtime?.p99Ms)}</td>
                        <td>{runtime ? <Sparkline values={runtime.sparkline} label={`Requests per second of ${t.module} over the last minute`} /> : '—'}</td>
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
                            <RollbackControl module={t.module} target={t.rollback} onDone={onDone} />
                          ) : (
                            <span className="small">would go to {t.rollback.to}</span>
                          )}
                          {rolledBack[t.module] && <RollbackConfirmation done={rolledBack[t.module]} />}
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
    </>
  );
}
