import type { ReactNode } from 'react';

// Loading and error states shared by every data-backed page, so a failure always says what went wrong.
export function QueryState({ isPending, error, children }: { isPending: boolean; error: { message: string } | null; children: () => ReactNode }) {
  if (error) return <p role="alert" className="error">{error.message}</p>;
  if (isPending) return <p className="muted">Loading…</p>;
  return <>{children()}</>;
}
