'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { looksLikePrivateKey } from '@/app/approval-signing';
import { useTRPC } from '@/app/trpc';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { QueryState } from '@/components/query-state';
import { SigningKeysTable, type SigningKeyRow } from '@/components/signing-keys-table';
import { KeyPairGenerator } from './key-pair-generator';

export function SigningKeysView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.rollouts.keys.mine.queryOptions());
  const [publicKey, setPublicKey] = useState('');
  const [registered, setRegistered] = useState<string | null>(null);
  const [privateKeyPasted, setPrivateKeyPasted] = useState(false);
  const [revoking, setRevoking] = useState<SigningKeyRow | null>(null);
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
  const revoke = useMutation(
    trpc.rollouts.keys.revoke.mutationOptions({
      onSuccess: () => {
        setRevoking(null);
        return refresh();
      },
    }),
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setRegistered(null);
    register.reset();
    // The server would refuse it too, but by then the private key would have left this browser.
    const privateKey = looksLikePrivateKey(publicKey);
    setPrivateKeyPasted(privateKey);
    if (privateKey) return;
    register.mutate({ label: String(new FormData(event.currentTarget).get('label')), publicKey });
  }

  return (
    <section className="stack" aria-labelledby="keys-heading">
      <h2 id="keys-heading">Approval key</h2>
      <p className="muted" style={{ margin: 0 }}>
        Your SM2 public key; approvals you sign are verified against it. Registering a new one revokes the old one, and the approvals it signed on changes not yet started become void.
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
        {privateKeyPasted && (
          <p role="alert" className="error">
            This is a private key, so it was not sent. Paste the public key instead (the &quot;PUBLIC KEY&quot; PEM, or hex starting with 04); the
            private key stays with you.
          </p>
        )}
        {register.error && <p role="alert" className="error">{register.error.message}</p>}
        {registered && <p role="status" className="notice">{registered}</p>}
      </form>
      <QueryState isPending={keys.isPending} error={keys.error}>
        {() => <SigningKeysTable keys={keys.data!} pending={revoke.isPending} onRevoke={setRevoking} />}
      </QueryState>
      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? `Revoke key "${revoking.label}"` : 'Revoke key'}
        explanation="The approvals you signed with this key on changes not yet started become void; those changes need your signature again, with another key."
        confirmLabel="Revoke key"
        pending={revoke.isPending}
        error={revoke.error?.message ?? null}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
        onClose={() => {
          setRevoking(null);
          revoke.reset();
        }}
      />
    </section>
  );
}
