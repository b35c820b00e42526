'use client';
import type { FormEvent } from 'react';

export function RegisterHostForm({ pending, onRegister }: { pending: boolean; onRegister: (input: { name: string; address?: string; zone?: string; group?: string }) => void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? '').trim();
    const [address, zone, group] = [field('address'), field('zone'), field('group')];
    onRegister({ name: field('name'), ...(address ? { address } : {}), ...(zone ? { zone } : {}), ...(group ? { group } : {}) });
    event.currentTarget.reset();
  }
  return (
    <form className="row panel" onSubmit={submit} aria-label="Register a host">
      <label style={{ flex: 1 }}>
        Host name
        <input name="name" required pattern="[a-z0-9][a-z0-9\-]{0,62}" title="a-z, 0-9 and -, up to 63 characters" placeholder="edge-1" />
      </label>
      <label style={{ flex: 1 }}>
        Zone
        <input name="zone" pattern="[a-z0-9][a-z0-9\-]{0,62}" title="a-z, 0-9 and -, up to 63 characters" placeholder="default" />
      </label>
      <label style={{ flex: 1 }}>
        Group (optional)
        <input name="group" pattern="[a-z0-9][a-z0-9\-]{0,62}" title="a-z, 0-9 and -, up to 63 characters" />
      </label>
      <label style={{ flex: 2 }}>
        Invoke address (optional)
        <input name="address" type="url" placeholder="http://10.0.0.5:7400" />
      </label>
      <button type="submit" className="button" disabled={pending}>
        Register host
      </button>
    </form>
  );
}
