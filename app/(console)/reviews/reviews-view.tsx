'use client';
import { useQuery } from '@tanstack/react-query';
import { usePathname, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '@/app/trpc';
import { QueryState } from '@/components/query-state';
import { ReviewsTable } from '@/components/reviews-table';

/** Filters in the URL (?all=1&module=ledger): open reviews by default, open and overdue first. */
export function ReviewsView() {
  const trpc = useTRPC();
  const pathname = usePathname();
  const params = useSearchParams();
  const all = params.get('all') === '1';
  const moduleFilter = params.get('module')?.trim() ?? '';
  const [moduleText, setModuleText] = useState(moduleFilter);
  const reviews = useQuery(trpc.rollouts.operate.reviews.queryOptions({ open: !all, module: moduleFilter || undefined, limit: 500 }, { refetchInterval: 5_000 }));
  const go = (next: { all: boolean; module: string }) => {
    const search = new URLSearchParams();
    if (next.all) search.set('all', '1');
    if (next.module) search.set('module', next.module);
    window.history.replaceState(null, '', `${pathname}${search.size ? `?${search}` : ''}`);
  };
  return (
    <div className="stack">
      <form className="row panel" aria-label="Filter reviews" onSubmit={(event) => { event.preventDefault(); go({ all, module: moduleText.trim() }); }}>
        <label className="checkbox small">
          <input type="radio" name="which" checked={!all} onChange={() => go({ all: false, module: moduleFilter })} /> Open
        </label>
        <label className="checkbox small">
          <input type="radio" name="which" checked={all} onChange={() => go({ all: true, module: moduleFilter })} /> All
        </label>
        <label className="small">
          Module <input value={moduleText} onChange={(event) => setModuleText(event.target.value)} placeholder="any" size={16} />
        </label>
        <button type="submit" className="button secondary">Apply</button>
      </form>
      <QueryState isPending={reviews.isPending} error={reviews.error}>
        {() => <ReviewsTable reviews={reviews.data!} empty={all ? 'No post-incident review yet.' : 'No open review.'} />}
      </QueryState>
    </div>
  );
}
