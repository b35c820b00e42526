import type { Metadata } from 'next';
import { Suspense } from 'react';
import { PageHead } from '@/components/page-head';
import { currentUser } from '@/server/auth/current-user';
import { canApproveChanges, canProposeChanges } from '@/server/auth/permissions';
import { ApprovalQueue } from './approval-queue';
import { ChangesView } from './changes-view';
import { ProposeChange } from './propose-change';

export const metadata: Metadata = { title: 'Changes' };

export default async function ChangesPage() {
  const user = await currentUser();
  const roles = user?.roles ?? [];
  return (
    <>
      <PageHead title="Changes" subtitle="Change requests: a module moves to another version only through one, approved by a second person." />
      {canApproveChanges(roles) && <ApprovalQueue />}
      <h2>All requests</h2>
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <ChangesView canApprove={canApproveChanges(roles)} />
      </Suspense>
      {canProposeChanges(roles) && <ProposeChange />}
    </>
  );
}
