'use client';
import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { DecisionsTable } from '@/components/decisions-table';

const PAGE_SIZE = 20;

/**
 * Every judgement of the canary, newest first, a page at a time; the heading counts them all, so nothing is ever
 * left out unsaid. The first page follows the live count; older pages do not change.
 */
export function DecisionHistory({ id, total }: { id: string; total: number }) {
  const trpc = useTRPC();
  // The last id of each page before the one shown: its `beforeId`.
  const [cursors, setCursors] = useState<number[]>([]);
  const beforeId = cursors.at(-1);
  const page = useQuery(trpc.rollouts.changes.decisions.queryOptions({ id, beforeId, newestFirst: true, limit: PAGE_SIZE }, { placeholderData: keepPreviousData }));
  const onFirstPage = cursors.length === 0;
  const refetch = page.refetch;
  useEffect(() => {
    if (onFirstPage) void refetch();
  }, [total, onFirstPage, refetch]);

  // The page before stays shown while the next loads; its numbers are not claimed for the new range meanwhile.
  const loading = page.isPlaceholderData || page.isPending;
  const rows = page.data ?? [];
  const first = cursors.length * PAGE_SIZE + 1;
  const last = cursors.length * PAGE_SIZE + rows.length;
  const older = rows.length === PAGE_SIZE && last < total;
  return (
    <section aria-label="Analysis history" className="stack">
      <h2 data-testid="decision-count" data-count={total}>
        Analysis history: {total} {total === 1 ? 'judgement' : 'judgements'}
      </h2>
      {page.error && <p role="alert" className="error">{page.error.message}</p>}
      <div aria-busy={loading}>
        <DecisionsTable decisions={rows} />
      </div>
      {total > PAGE_SIZE && (
        <nav className="row small" aria-label="Analysis history pages">
          <button type="button" className="button secondary small" disabled={onFirstPage} onClick={() => setCursors([])}>
            Newest
          </button>
          <button type="button" className="button secondary small" disabled={onFirstPage} onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer
          </button>
          <span data-testid="decision-range">
            {loading ? 'loading…' : rows.length > 0 ? `${first}–${last}` : '—'} of {total}, newest first
          </span>
          <button type="button" className="button secondary small" disabled={!older || loading} onClick={() => setCursors([...cursors, rows.at(-1)!.id])}>
            Older
          </button>
        </nav>
      )}
    </section>
  );
}
