'use client';
import { useState } from 'react';
import { authClient } from '../auth-client';

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    await authClient.signOut();
    window.location.href = '/login';
  }
  return (
    <button type="button" className="button secondary small" onClick={signOut} disabled={busy}>
      Sign out
    </button>
  );
}
