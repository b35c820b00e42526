'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { QueryState } from '@/components/query-state';
import { Time } from '@/components/time';

export function TokensView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.me.tokens.queryOptions());
  const [shown, setShown] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.me.tokens.queryKey() });
  const create = useMutation(
    trpc.me.createToken.mutationOptions({
      onSuccess: (t) => {
        setShown(t.token);
        return refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.me.revokeToken.mutationOptions({ onSuccess: refresh }));

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ name: String(new FormData(event.currentTarget).get('name')) });
    event.currentTarget.reset();
  }

  return (
    <div className="stack">
      {(create.error ?? revoke.error) && <p role="alert" className="error">{(create.error ?? revoke.error)!.message}</p>}
      {shown && (
        <p className="notice" role="status">
          Copy this token now, it is shown only once: <code data-testid="new-token">{shown}</code>
        </p>
      )}
      <form className="row panel" onSubmit={submit} aria-label="Create an API token">
        <label style={{ flex: 1 }}>
          Token name
          <input name="name" required placeholder="release laptop" />
        </label>
        <button type="submit" className="button" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <QueryState isPending={tokens.isPending} error={tokens.error}>
        {() => (
          <div className="table-wrap">
            <table aria-label="API tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tokens.data!.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td className="mono">{t.prefix}…</td>
                    <td><Time value={t.createdAt} /></td>
                    <td><Time value={t.lastUsedAt} age fallback="never" /></td>
                    <td>
                      {t.revokedAt ? (
                        <span className="badge revoked">revoked</span>
                      ) : (
                        <button type="button" className="button secondary small" onClick={() => revoke.mutate({ tokenId: t.id })}>
                          Revoke
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
    </div>
  );
}
