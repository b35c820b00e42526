import { currentUser } from '@/server/auth/current-user';
import { canApproveChanges, canOperateRollouts, canProposeChanges } from '@/server/auth/permissions';
import { ChangeRequestView } from './change-request-view';

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
