'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

export function SignOutButton() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    // The auth client is loaded on the click: every console page would otherwise carry it for this one call.
    const { authClient } = await import('../auth-client');
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
