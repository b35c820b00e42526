'use client';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Fingerprint } from '@/components/fingerprint';
import { QueryState } from '@/components/query-state';

export function ModulesTable() {
  const trpc = useTRPC();
  const modules = useQuery(trpc.modules.list.queryOptions());
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
