'use client';
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';

function dateInput(offsetDays: number) {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

export function RegisterSignerForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [done, setDone] = useState<string | null>(null);
  const register = useMutation(
    trpc.signers.register.mutationOptions({
      onSuccess: (signer) => {
        setDone(`Registered; fingerprint ${signer.fingerprint}`);
        return queryClient.invalidateQueries({ queryKey: trpc.signers.list.queryKey() });
      },
    }),
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setDone(null);
    register.mutate({
      name: String(form.get('name')),
      subjectDn: String(form.get('subjectDn')),
      serial: String(form.get('serial')),
      publicKey: String(form.get('publicKey')),
      allowedModules: String(form.get('allowedModules')).split(',').map((s) => s.trim()).filter(Boolean),
      notBefore: new Date(String(form.get('notBefore'))),
      notAfter: new Date(String(form.get('notAfter'))),
    });
  }

  return (
    <form className="panel stack" onSubmit={submit} aria-label="Register a signer">
      <h2 style={{ margin: 0 }}>Register a signer</h2>
      <div className="row">
        <label style={{ flex: 1 }}>
          Name
          <input name="name" required />
        </label>
        <label style={{ flex: 2 }}>
          Subject DN
          <input name="subjectDn" required placeholder="CN=Release Signing,O=Bank,C=CN" />
        </label>
        <label>
          Serial
          <input name="serial" required />
        </label>
      </div>
      <label>
        Public key (PEM SubjectPublicKeyInfo, or SM2 hex 04‖x‖y)
        <textarea name="publicKey" rows={5} required placeholder="-----BEGIN PUBLIC KEY-----" />
      </label>
      <div className="row">
        <label style={{ flex: 1 }}>
          May sign modules (comma-separated globs)
          <input name="allowedModules" required placeholder="ledger, risk-*" />
        </label>
        <label>
          Not before
          <input name="notBefore" type="date" required defaultValue={dateInput(0)} />
        </label>
        <label>
          Not after
          <input name="notAfter" type="date" required defaultValue={dateInput(365)} />
        </label>
      </div>
      {register.error && <p role="alert" className="error">{register.error.message}</p>}
      {done && <p className="notice">{done}</p>}
      <div>
        <button type="submit" className="button" disabled={register.isPending}>
          Register signer
        </button>
      </div>
    </form>
  );
}
