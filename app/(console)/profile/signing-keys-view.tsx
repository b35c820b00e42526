'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { QueryState } from '@/components/query-state';
import { SigningKeysTable } from '@/components/signing-keys-table';
import { KeyPairGenerator } from './key-pair-generator';

export function SigningKeysView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.rollouts.keys.mine.queryOptions());
  const [publicKey, setPublicKey] = useState('');
  const [registered, setRegistered] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.rollouts.keys.mine.queryKey() });
  const register = useMutation(
    trpc.rollouts.keys.register.mutationOptions({
      onSuccess: (key) => {
        setRegistered(`Registered "${key.label}"; fingerprint ${key.fingerprint}`);
        setPublicKey('');
        return refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.rollouts.keys.revoke.mutationOptions({ onSuccess: refresh }));

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setRegistered(null);
    register.mutate({ label: String(new FormData(event.currentTarget).get('label')), publicKey });
  }

  return (
    <section className="stack" aria-labelledby="keys-heading">
      <h2 id="keys-heading">Approval key</h2>
      <p className="muted" style={{ margin: 0 }}>
        Your SM2 public key; approvals you sign are verified against it. Registering a new one revokes the old one.
      </p>
      <KeyPairGenerator onPublicKey={setPublicKey} />
      <form className="panel stack" onSubmit={submit} aria-label="Register an approval key">
        <label>
          Public key (PEM, or hex 04‖x‖y)
          <textarea name="publicKey" rows={4} required value={publicKey} onChange={(e) => setPublicKey(e.target.value)} placeholder="-----BEGIN PUBLIC KEY-----" />
        </label>
        <div className="row">
          <label style={{ flex: 1 }}>
            Key label
            <input name="label" required placeholder="laptop 2026" />
          </label>
          <button type="submit" className="button" disabled={register.isPending}>
            Register key
          </button>
        </div>
        {register.error && <p role="alert" className="error">{register.error.message}</p>}
        {registered && <p role="status" className="notice">{registered}</p>}
      </form>
      {revoke.error && <p role="alert" className="error">{revoke.error.message}</p>}
      <QueryState isPending={keys.isPending} error={keys.error}>
        {() => <SigningKeysTable keys={keys.data!} pending={revoke.isPending} onRevoke={(id) => revoke.mutate({ id })} />}
      </QueryState>
    </section>
  );
}
