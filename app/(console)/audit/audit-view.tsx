'use client';
import { useState, type FormEvent } from 'react';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Fingerprint } from '@/components/fingerprint';
import { QueryState } from '@/components/query-state';
import { AuditVerdict } from '@/components/audit-verdict';
import { AuditDetails, rolesText } from '@/components/audit-details';
import { Time } from '@/components/time';
import { FILTER_FIELDS, filterFromParams, queryOfFilter, rangeProblem } from './audit-filter';

export function AuditView({ canVerify, canExport }: { canVerify: boolean; canExport: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  // The filter lives in the URL, so a filtered view can be bookmarked and sent to someone.
  const filter = filterFromParams(params);
  const [beforeSeq, setBeforeSeq] = useState<number | undefined>(undefined);
  const [formProblem, setFormProblem] = useState<string | null>(null);
  // A hand-edited URL gets the same explanation as the form; its unreadable days are left out of the query.
  const urlProblem = rangeProblem(filter);
  const events = useQuery(trpc.audit.list.queryOptions({ ...queryOfFilter(filter), beforeSeq, limit: 100 }));
  const consoleKey = useQuery(trpc.audit.consoleKey.queryOptions());
  const verify = useMutation(trpc.audit.verify.mutationOptions({ onSuccess: () => events.refetch() }));

  function applyFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const name of FILTER_FIELDS) {
      const value = String(form.get(name) ?? '').trim();
      if (value) next.set(name, value);
    }
    const problem = rangeProblem(filterFromParams(next));
    setFormProblem(problem);
    if (problem) return;
    setBeforeSeq(undefined);
    router.replace(next.size ? `${pathname}?${next}` : pathname);
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
      <form className="row" onSubmit={applyFilter} aria-label="Filter audit events" key={params.toString()}>
        <label>
          Action (prefix)
          <input name="action" placeholder="artifact." defaultValue={filter.action} />
        </label>
        <label>
          Actor
          <input name="actor" placeholder="operator@" defaultValue={filter.actor} />
        </label>
        <label>
          Target
          <input name="target" placeholder="ledger@1.1.0" defaultValue={filter.target} />
        </label>
        <label>
          From (day)
          <input name="from" type="date" defaultValue={filter.from} />
        </label>
        <label>
          To (day, included)
          <input name="to" type="date" defaultValue={filter.to} />
        </label>
        <button type="submit" className="button secondary" style={{ alignSelf: 'flex-end' }}>
          Filter
        </button>
      </form>
      {(formProblem ?? urlProblem) && <p role="alert" className="error">{formProblem ?? urlProblem}</p>}
      <QueryState isPending={events.isPending} error={events.error}>
        {() => (
          <>
            <div className="table-wrap">
              <table aria-label="Audit events" className="audit-table">
                <thead>
                  <tr>
                    <th>Seq</th>
                    <th>Time</th>
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
                      <td className="small">
                        <Time value={e.time} />
                      </td>
                      <td>
                        {e.actorName}
                        <div className="muted small">{rolesText(e.actorRoles)}</div>
                      </td>
                      <td className="mono">{e.action}</td>
                      <td className="small">
                        {e.targetName ? (
                          <>
                            {e.targetName}
                            <div className="muted mono">{e.targetType}</div>
                          </>
                        ) : (
                          <span className="mono">
                            {e.targetType}:{e.targetId}
                          </span>
                        )}
                      </td>
                      <td className="small">
                        <AuditDetails json={e.details} />
                      </td>
                      <td className="mono small" title={e.hash}>
                        {e.hash.slice(0, 8)}…
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="row">
              {beforeSeq && (
                <button type="button" className="button secondary small" onClick={() => setBeforeSeq(undefined)}>
                  Newest
                </button>
              )}
              {events.data!.nextBeforeSeq && (
                <button type="button" className="button secondary small" onClick={() => setBeforeSeq(events.data!.nextBeforeSeq!)}>
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
