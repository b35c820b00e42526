'use client';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useLiveDashboard } from '@/app/live-queries';
import { useTRPC } from '@/app/trpc';
import { Fingerprint } from '@/components/fingerprint';
import { QueryState } from '@/components/query-state';
import { RuntimeStatCells } from '@/components/runtime-stat-cells';
import type { LiveModuleRow } from '@/server/fleet/live-dashboard';

// recharts is the biggest script of the console: the table is usable before it arrives, the sparklines follow.
const Sparkline = dynamic(() => import('@/components/sparkline').then((m) => m.Sparkline), {
  ssr: false,
  loading: () => <span className="sparkline-placeholder" />,
});

type ModuleRuntime = LiveModuleRow;

function RuntimeCells({ runtime, known }: { runtime: ModuleRuntime | undefined; known: boolean }) {
  if (!known) return <td colSpan={5} className="muted small">…</td>;
  if (!runtime) return <td colSpan={5} className="muted small">not loaded on any host</td>;
  return (
    <>
      <td className="mono small">{runtime.versions.map((v) => `${v.version} ${v.weight}%`).join(' · ')}</td>
      <RuntimeStatCells runtime={runtime} />
      <td>
        <Sparkline values={runtime.sparkline} label={`Requests per second of ${runtime.module} over the last minute`} />
      </td>
    </>
  );
}

export function ModulesTable() {
  const trpc = useTRPC();
  const modules = useQuery(trpc.modules.list.queryOptions());
  // Runtime columns are extra: the registry table renders without them while they load or if they fail.
  const dashboard = useLiveDashboard();
  const runtimeOf = (name: string) => dashboard.data?.rows.find((m) => m.module === name);
  return (
    <QueryState isPending={modules.isPending} error={modules.error}>
      {() =>
        modules.data!.length === 0 ? (
          <p className="muted">No module yet. Upload a signed .so to start the registry.</p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Modules">
              <thead>
                <tr>
                  <th>Module</th>
                  <th>Class</th>
                  <th>Latest version</th>
                  <th>Signer</th>
                  <th>Versions</th>
                  <th>Serving</th>
                  <th>Health</th>
                  <th>Req/s</th>
                  <th>Errors</th>
                  <th>Last minute</th>
                </tr>
              </thead>
              <tbody>
                {modules.data!.map((m) => (
                  <tr key={m.name}>
                    <td>
                      <Link href={`/modules/${m.name}`}>{m.name}</Link>
                    </td>
                    <td>
                      {m.class} {!m.hotUpgradable && <span className="badge redline">never hot-upgraded</span>}
                    </td>
                    <td className="mono">{m.latest?.version ?? '—'}</td>
                    <td>
                      {m.latest ? (
                        <>
                          {m.latest.signer.name} <Fingerprint value={m.latest.signer.fingerprint} />
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{m.versionCount}</td>
                    <RuntimeCells runtime={runtimeOf(m.name)} known={dashboard.data !== undefined} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </QueryState>
  );
}
