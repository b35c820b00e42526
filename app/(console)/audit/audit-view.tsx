'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Fingerprint } from '@/components/fingerprint';
import { QueryState } from '@/components/query-state';
import { AuditVerdict } from '@/components/audit-verdict';
import { AuditDetails, rolesText } from '@/components/audit-details';

interface Filter {
  action?: string;
  actor?: string;
  target?: string;
  beforeSeq?: number;
}

export function AuditView({ canVerify, canExport }: { canVerify: boolean; canExport: boolean }) {
  const trpc = useTRPC();
  const [filter, setFilter] = useState<Filter>({});
  const events = useQuery(trpc.audit.list.queryOptions({ ...filter, limit: 100 }));
  const consoleKey = useQuery(trpc.audit.consoleKey.queryOptions());
  const verify = useMutation(trpc.audit.verify.mutationOptions({ onSuccess: () => events.refetch() }));

  function applyFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    setFilter({ action: text('action'), actor: text('actor'), target: text('target') });
  }

  return (
    <div className="stack">
      <div className="row panel">
        <div>
          Console checkpoint key {consoleKey.data ? <Fingerprint value={consoleKey.data.fingerprint} /> : '…'}
          {consoleKey.data && ` (${consoleKey.data.algorithm === 'sm2' ? 'SM2' : 'ECDSA P-256'}, ${consoleKey.data.custody === 'pkcs11' ? 'on a PKCS#11 token' : 'a file in the data folder'})`}
        </div>
        <div className="spacer" />
        {canVerify && (
          <button type="button" className="button" onClick={() => verify.mutate({})} disabled={verify.isPending}>
            {verify.isPending ? 'Verifying…' : 'Verify chain'}
          </button>
        )}
        {canExport && (
          // A POST (with the browser's Origin), so another site cannot make a signed-in auditor's browser export.
          <form method="post" action="/api/audit/export">
            <button type="submit" className="button secondary">
              Export (JSONL + checkpoints)
            </button>
          </form>
        )}
      </div>
      {verify.error && <p role="alert" className="error">{verify.error.message}</p>}
      {verify.data && <AuditVerdict result={verify.data} />}
      <form className="row" onSubmit={applyFilter} aria-label="Filter audit events">
        <label>
          Action (prefix)
          <input name="action" placeholder="artifact." />
        </label>
        <label>
          Actor
          <input name="actor" placeholder="operator@" />
        </label>
        <label>
          Target
          <input name="target" placeholder="ledger@1.1.0" />
        </label>
        <button type="submit" className="button secondary" style={{ alignSelf: 'flex-end' }}>
          Filter
        </button>
      </form>
      <QueryState isPending={events.isPending} error={events.error}>
        {() => (
          <>
            <div className="table-wrap">
              <table aria-label="Audit events">
                <thead>
                  <tr>
                    <th>Seq</th>
                    <th>Time (UTC)</th>
                    <th>Actor</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th>Details</th>
                    <th>Hash</th>
                  </tr>
                </thead>
                <tbody>
                  {events.data!.events.map((e) => (
                    <tr key={e.seq}>
                      <td className="mono">{e.seq}</td>
                      <td className="mono small">{e.time.replace('T', ' ').replace('Z', '')}</td>
                      <td>
                        {e.actorName}
                        <div className="muted small">{rolesText(e.actorRoles)}</div>
                      </td>
                      <td className="mono">{e.action}</td>
                      <td className="mono small">{e.targetType}:{e.targetId}</td>
                      <td className="small" style={{ maxWidth: 420 }}>
                        <AuditDetails json={e.details} />
                      </td>
                      <td className="mono small" title={e.hash}>{e.hash.slice(0, 12)}…</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="row">
              {filter.beforeSeq && (
                <button type="button" className="button secondary small" onClick={() => setFilter({ ...filter, beforeSeq: undefined })}>
                  Newest
                </button>
              )}
              {events.data!.nextBeforeSeq && (
                <button type="button" className="button secondary small" onClick={() => setFilter({ ...filter, beforeSeq: events.data!.nextBeforeSeq! })}>
                  Older
                </button>
              )}
            </div>
          </>
        )}
      </QueryState>
    </div>
  );
}
