'use client';
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { CheckReport } from '@/components/check-report';
import { Fingerprint } from '@/components/fingerprint';
import { PageHead } from '@/components/page-head';
import { QueryState } from '@/components/query-state';
import { PostIncidentReviews } from '../../post-incident-reviews';
import { ModuleRollback } from './module-rollback';
import { RuntimeSection } from './runtime-section';
import { Time } from '@/components/time';

export function ModuleDetail({ name, may }: { name: string; may: { proposeChanges: boolean; rollBack: boolean; overrideBreaker: boolean } }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.modules.detail.queryOptions({ name }));
  const [open, setOpen] = useState<string | null>(null);
  return (
    <QueryState isPending={detail.isPending} error={detail.error}>
      {() => {
        const d = detail.data!;
        return (
          <>
            <PageHead
              title={d.name}
              subtitle={
                <>
                  Class {d.class}
                  {!d.hotUpgradable && <span className="badge redline"> red line: never hot-upgraded</span>}
                </>
              }
            />
            <ModuleRollback module={d.name} canRollBack={may.rollBack} canOverrideBreaker={may.overrideBreaker} />
            <PostIncidentReviews module={d.name} />
            <RuntimeSection name={d.name} canPropose={may.proposeChanges} />
            <h2>Versions</h2>
            <div className="table-wrap">
              <table aria-label="Versions">
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Status</th>
                    <th>Signer</th>
                    <th>SM3</th>
                    <th>Size</th>
                    <th>Accepted</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {d.versions.map((v) => (
                    <tr key={v.id} data-version={v.version}>
                      <td className="mono">{v.version}</td>
                      <td>
                        <span className={`badge ${v.status}`}>{v.status}</span> {v.goRuntime && <span className="badge">Go runtime</span>}
                      </td>
                      <td>
                        {v.signer.name} <Fingerprint value={v.signer.fingerprint} />
                        <div className="muted small">{v.signer.subjectDn}</div>
                      </td>
                      <td className="mono small" title={v.sm3}>{v.sm3.slice(0, 16)}…</td>
                      <td>{v.size.toLocaleString()} B</td>
                      <td><Time value={v.createdAt} /></td>
                      <td>
                        <button type="button" className="button secondary small" onClick={() => setOpen(open === v.id ? null : v.id)} aria-expanded={open === v.id}>
                          {open === v.id ? 'Hide report' : 'Report'}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {d.versions
              .filter((v) => v.id === open)
              .map((v) => (
                <section key={v.id} className="stack" style={{ marginTop: 16 }}>
                  <h2>Verification report — {v.version}</h2>
                  <CheckReport checks={v.report.checks} />
                  <details>
                    <summary>Manifest (exact signed bytes)</summary>
                    <pre className="panel mono">{v.manifestText}</pre>
                  </details>
                </section>
              ))}
            {d.rejections.length > 0 && (
              <>
                <h2>Recent rejections</h2>
                <div className="table-wrap">
                  <table aria-label="Rejections">
                    <thead>
                      <tr>
                        <th>When</th>
                        <th>File</th>
                        <th>Version</th>
                        <th>Why</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.rejections.map((r) => (
                        <tr key={r.id}>
                          <td><Time value={r.createdAt} /></td>
                          <td className="mono">{r.fileName}</td>
                          <td className="mono">{r.version ?? '—'}</td>
                          <td>{r.message}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </>
        );
      }}
    </QueryState>
  );
}
