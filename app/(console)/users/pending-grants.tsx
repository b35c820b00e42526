'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { QueryState } from '@/components/query-state';
import { Time } from '@/components/time';

// Grants of admin, operator or approver wait here for a second admin: not the one who asked, not the grantee.
export function PendingGrants({ selfId, emailOf }: { selfId: string; emailOf: (userId: string) => string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const grants = useQuery(trpc.users.pendingGrants.queryOptions());
  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: trpc.users.pendingGrants.queryKey() }), queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() })]);
  const confirmGrant = useMutation(trpc.users.confirmGrant.mutationOptions({ onSuccess: refresh }));
  const declineGrant = useMutation(trpc.users.declineGrant.mutationOptions({ onSuccess: refresh }));
  const error = confirmGrant.error ?? declineGrant.error;

  function confirm(grant: { id: string; role: string; userId: string }) {
    if (window.confirm(`Give ${emailOf(grant.userId)} the ${grant.role} role? You confirm as the second admin; this is audited.`)) confirmGrant.mutate({ grantId: grant.id });
  }

  return (
    <section className="panel stack" aria-label="Pending role grants">
      <h2 style={{ margin: 0 }}>Role grants waiting for a second admin</h2>
      {error && <p role="alert" className="error">{error.message}</p>}
      <QueryState isPending={grants.isPending} error={grants.error}>
        {() =>
          grants.data!.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table aria-label="Pending role grants">
              <thead>
                <tr>
                  <th>Person</th>
                  <th>Role</th>
                  <th>Asked by</th>
                  <th>Asked at</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {grants.data!.map((g) => (
                  <tr key={g.id}>
                    <td>{emailOf(g.userId)}</td>
                    <td>{g.role}</td>
                    <td>{g.requestedByName}</td>
                    <td><Time value={g.requestedAt} age /></td>
                    <td className="row">
                      {g.requestedById !== selfId && g.userId !== selfId ? (
                        <button type="button" className="button small" onClick={() => confirm(g)}>
                          Confirm
                        </button>
                      ) : (
                        <span className="muted small">another admin confirms</span>
                      )}
                      {g.userId !== selfId && (
                        <button type="button" className="button secondary small" onClick={() => declineGrant.mutate({ grantId: g.id })}>
                          Decline
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}
