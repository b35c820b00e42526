import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { canManageUsers } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { UsersView } from './users-view';

export const metadata: Metadata = { title: 'Users' };

export default async function UsersPage() {
  const user = await currentUser();
  if (!user || !canManageUsers(user.roles)) redirect('/modules');
  return (
    <>
      <PageHead title="Users and roles" subtitle="A user may hold several roles. Disabling a user ends their sessions and API tokens at once." />
      <UsersView selfId={user.id} />
    </>
  );
}
