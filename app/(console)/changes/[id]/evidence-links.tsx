'use client';
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { Time } from '@/components/time';

/** Signed evidence bundles of the finished request, each saved as one JSON file that `verifyEvidence` checks offline. */
export function EvidenceLinks({ bundles }: { bundles: { id: string; sm3: string; createdAt: Date | string }[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  if (bundles.length === 0) return <p className="muted">Sealed when the request finishes.</p>;

  async function download(id: string) {
    setError(null);
    try {
      const bundle = await queryClient.fetchQuery(trpc.rollouts.evidence.download.queryOptions({ id }));
      const url = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `evidence-${bundle.changeRequestId}-${id}.json`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <ul className="plain-list">
      {bundles.map((b) => (
        <li key={b.id} className="row">
          <button type="button" className="button secondary small" onClick={() => download(b.id)}>
            Download evidence
          </button>
          <span className="mono small">SM3 {b.sm3.slice(0, 24)}…</span>
          <span className="small muted"><Time value={b.createdAt} /></span>
        </li>
      ))}
      {error && <li role="alert" className="error">{error}</li>}
    </ul>
  );
}
