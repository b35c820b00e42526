import type { Metadata } from 'next';
import { currentUser } from '@/server/auth/current-user';
import { canApproveChanges, canOperateRollouts, canProposeChanges } from '@/server/auth/permissions';
import { ChangeRequestView } from './change-request-view';

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Change ${(await params).id.slice(0, 8)}` };
}

export default async function ChangeRequestPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await currentUser();
  const roles = user?.roles ?? [];
  return (
    <ChangeRequestView
      id={id}
      may={{ propose: canProposeChanges(roles), approve: canApproveChanges(roles), operate: canOperateRollouts(roles) }}
    />
  );
}
