import type { Metadata } from 'next';
import { canOverrideBreaker, canRollBack, canProposeChanges } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { ModuleDetail } from './module-detail';

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  return { title: `Module ${decodeURIComponent((await params).name)}` };
}

export default async function ModulePage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const user = await currentUser();
  const roles = user?.roles ?? [];
  return <ModuleDetail name={name} may={{ proposeChanges: canProposeChanges(roles), rollBack: canRollBack(roles), overrideBreaker: canOverrideBreaker(roles) }} />;
}
