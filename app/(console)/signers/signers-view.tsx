'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Fingerprint } from '@/components/fingerprint';
import { QueryState } from '@/components/query-state';
import { RegisterSignerForm } from './register-signer-form';
import { Time, formatAbsolute } from '@/components/time';

export function SignersView({ canManage }: { canManage: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const signers = useQuery(trpc.signers.list.queryOptions());
  const revoke = useMutation(
    trpc.signers.revoke.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.signers.list.queryKey() }) }),
  );

  function askRevoke(signerId: string, name: string) {
    const reason = window.prompt(`Revoke signer "${name}"? Give the reason (kept in the audit trail):`);
    if (reason) revoke.mutate({ signerId, reason });
  }

  return (
    <div className="stack">
      {revoke.error && <p role="alert" className="error">{revoke.error.message}</p>}
      <QueryState isPending={signers.isPending} error={signers.error}>
        {() => (
          <div className="table-wrap">
            <table aria-label="Signers">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Subject DN / serial</th>
                  <th>Fingerprint (SM3)</th>
                  <th>May sign</th>
                  <th>Valid</th>
                  <th>Status</th>
                  {canManage && <th />}
                </tr>
              </thead>
              <tbody>
                {signers.data!.map((s) => (
                  <tr key={s.id}>
                    <td>
                      {s.name}
                      <div className="muted small">{s.algorithm.toUpperCase()} · {s.versionsSigned} version(s)</div>
                    </td>
                    <td>
                      {s.subjectDn}
                      <div className="muted small mono">serial {s.serial}</div>
                    </td>
                    <td>
                      <Fingerprint value={s.fingerprint} />
                    </td>
                    <td className="mono">{s.allowedModules.join(', ')}</td>
                    <td className="small">
                      {formatAbsolute(s.notBefore).slice(0, 10)} – {formatAbsolute(s.notAfter).slice(0, 10)}
                    </td>
                    <td>
                      {s.revokedAt ? (
                        <span className="badge revoked" title={s.revocationReason ?? ''}>
                          revoked <Time value={s.revokedAt} />: {s.revocationReason}
                        </span>
                      ) : new Date(s.notAfter) < new Date() ? (
                        <span className="badge warn">expired</span>
                      ) : (
                        <span className="badge ok">active</span>
                      )}
                    </td>
                    {canManage && (
                      <td>
                        {!s.revokedAt && (
                          <button type="button" className="button danger small" onClick={() => askRevoke(s.id, s.name)}>
                            Revoke
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {canManage && <RegisterSignerForm />}
    </div>
  );
}
