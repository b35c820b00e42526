'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ROLES, type Role } from '@/server/auth/permissions';
import { useTRPC } from '@/app/trpc';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { QueryState } from '@/components/query-state';
import { PendingGrants } from './pending-grants';
import { ROLE_SUMMARIES } from './role-summaries';

// A grant waiting for the admin's yes: roles given to an existing user, or to a new one with the account.
type Grant =
  | { kind: 'existing'; userId: string; who: string; roles: Role[]; added: Role }
  | { kind: 'new'; who: string; email: string; name: string; added: Role[] };
import { Time } from '@/components/time';

export function UsersView({ selfId }: { selfId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const [secret, setSecret] = useState<string | null>(null);
  const [granting, setGranting] = useState<Grant | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const refreshAll = () => Promise.all([refresh(), queryClient.invalidateQueries({ queryKey: trpc.users.pendingGrants.queryKey() })]);
  const setRoles = useMutation(
    trpc.users.setRoles.mutationOptions({
      onSuccess: (r) => {
        setSecret(r.pending.length ? `${r.pending.join(', ')} waits for a second admin's confirmation (below).` : null);
        setGranting(null);
        return refreshAll();
      },
    }),
  );
  const unlock = useMutation(trpc.users.unlock.mutationOptions({ onSuccess: refresh }));
  const setDisabled = useMutation(trpc.users.setDisabled.mutationOptions({ onSuccess: refresh }));
  const resetPassword = useMutation(
    trpc.users.resetPassword.mutationOptions({ onSuccess: (r) => setSecret(`New password (shown once): ${r.password}`) }),
  );
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (r) => {
        const waiting = r.pending.length ? ` ${r.pending.join(', ')} waits for a second admin's confirmation.` : '';
        setSecret(`Created ${r.user.email}. Password (shown once): ${r.password}${waiting}`);
        setGranting(null);
        return refreshAll();
      },
    }),
  );
  const error = setRoles.error ?? setDisabled.error ?? resetPassword.error ?? create.error ?? unlock.error;

  // Removing a role applies at once; giving one asks first, naming the person, the role and what it allows.
  function toggleRole(user: { id: string; name: string; email: string; roles: Role[] }, role: Role) {
    if (user.roles.includes(role)) setRoles.mutate({ userId: user.id, roles: user.roles.filter((r) => r !== role) });
    else setGranting({ kind: 'existing', userId: user.id, who: `${user.name} (${user.email})`, roles: user.roles, added: role });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const account = { email: String(form.get('email')), name: String(form.get('name')), roles: ROLES.filter((r) => form.get(`role-${r}`) === 'on') };
    if (account.roles.length === 0) create.mutate(account);
    else setGranting({ kind: 'new', who: `${account.name} (${account.email})`, email: account.email, name: account.name, added: account.roles });
  }

  function grant() {
    if (granting?.kind === 'existing') setRoles.mutate({ userId: granting.userId, roles: [...granting.roles, granting.added] });
    if (granting?.kind === 'new') create.mutate({ email: granting.email, name: granting.name, roles: granting.added });
  }

  const grantedRoles = granting ? (granting.kind === 'existing' ? [granting.added] : granting.added) : [];

  return (
    <div className="stack">
      {error && <p role="alert" className="error">{error.message}</p>}
      {secret && <p className="notice mono" role="status">{secret}</p>}
      <QueryState isPending={users.isPending} error={users.error}>
        {() => (
          <div className="table-wrap">
            <table aria-label="Users">
              <thead>
                <tr>
                  <th>User</th>
                  {ROLES.map((r) => (
                    <th key={r}>{r}</th>
                  ))}
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {users.data!.map((u) => (
                  <tr key={u.id}>
                    <td>
                      {u.name}
                      <div className="muted small">{u.email}</div>
                    </td>
                    {ROLES.map((r) => (
                      <td key={r}>
                        <input
                          type="checkbox"
                          aria-label={`${u.email} has role ${r}`}
                          checked={u.roles.includes(r)}
                          disabled={u.id === selfId}
                          title={u.id === selfId ? 'nobody changes their own roles' : undefined}
                          onChange={() => toggleRole(u, r)}
                        />
                      </td>
                    ))}
                    <td>
                      {u.disabled ? <span className="badge bad">disabled</span> : <span className="badge ok">active</span>}
                      {u.lockedUntil && <span className="badge bad">locked until <Time value={u.lockedUntil} /></span>}
                    </td>
                    <td className="row">
                      {u.id !== selfId && (
                        <button type="button" className="button secondary small" onClick={() => setDisabled.mutate({ userId: u.id, disabled: !u.disabled })}>
                          {u.disabled ? 'Enable' : 'Disable'}
                        </button>
                      )}
                      <button type="button" className="button secondary small" onClick={() => resetPassword.mutate({ userId: u.id })}>
                        Reset password
                      </button>
                      {u.lockedUntil && (
                        <button type="button" className="button secondary small" onClick={() => unlock.mutate({ userId: u.id })}>
                          Unlock
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {users.data && <PendingGrants selfId={selfId} emailOf={(id) => users.data.find((u) => u.id === id)?.email ?? id} />}
      <form className="panel stack" onSubmit={submit} aria-label="Add a user">
        <h2 style={{ margin: 0 }}>Add a user</h2>
        <div className="row">
          <label style={{ flex: 1 }}>
            Name
            <input name="name" required />
          </label>
          <label style={{ flex: 1 }}>
            E-mail
            <input name="email" type="email" required />
          </label>
        </div>
        <fieldset className="row">
          <legend>Roles</legend>
          {ROLES.map((r) => (
            <label key={r} className="checkbox">
              <input type="checkbox" name={`role-${r}`} /> {r}
            </label>
          ))}
        </fieldset>
        <div>
          <button type="submit" className="button" disabled={create.isPending}>
            Add user
          </button>
        </div>
      </form>
      <ConfirmDialog
        open={granting !== null}
        title={granting ? `Give ${granting.who} the ${grantedRoles.join(' and ')} role${grantedRoles.length > 1 ? 's' : ''}?` : 'Give a role'}
        confirmLabel={granting?.kind === 'new' ? 'Create user with these roles' : `Give ${grantedRoles.join(', ')}`}
        pending={setRoles.isPending || create.isPending}
        error={(granting?.kind === 'new' ? create.error : setRoles.error)?.message ?? null}
        onConfirm={grant}
        onClose={() => {
          setGranting(null);
          setRoles.reset();
          create.reset();
        }}
      >
        <ul className="stack" style={{ margin: 0, paddingLeft: 18, gap: 4 }}>
          {grantedRoles.map((r) => (
            <li key={r}>
              <strong>{r}</strong> may {ROLE_SUMMARIES[r]}.
            </li>
          ))}
        </ul>
        <p className="muted small" style={{ margin: 0 }}>
          The grant is audited. Admin, operator and approver may wait for a second admin&apos;s confirmation before they apply.
        </p>
      </ConfirmDialog>
    </div>
  );
}
