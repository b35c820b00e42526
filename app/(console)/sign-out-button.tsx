'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { authClient } from '../auth-client';

export function SignOutButton() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    await authClient.signOut();
    router.replace('/login');
    router.refresh();
  }
  return (
    <button type="button" className="button secondary small" onClick={signOut} disabled={busy}>
      Sign out
    </button>
  );
}
