import { canSetRuntime } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { ModuleDetail } from './module-detail';

export default async function ModulePage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const user = await currentUser();
  return <ModuleDetail name={name} canSetRuntime={Boolean(user && canSetRuntime(user.roles))} />;
}
