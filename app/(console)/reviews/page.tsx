import type { Metadata } from 'next';
import { Suspense } from 'react';
import { PageHead } from '@/components/page-head';
import { ReviewsView } from './reviews-view';

export const metadata: Metadata = { title: 'Reviews' };

export default function ReviewsPage() {
  return (
    <>
      <PageHead title="Post-incident reviews" subtitle="Every break-glass rollback opens one; someone other than the person who rolled back acknowledges it with a note." />
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <ReviewsView />
      </Suspense>
    </>
  );
}
