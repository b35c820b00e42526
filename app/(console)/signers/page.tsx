import type { Metadata } from 'next';
import { canManageSigners } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { SignersView } from './signers-view';

export const metadata: Metadata = { title: 'Signers' };

export default async function SignersPage() {
  const user = await currentUser();
  return (
    <>
      <PageHead title="Trusted signers" subtitle="Public keys allowed to sign module manifests. Private keys never reach this console." />
      <SignersView canManage={Boolean(user && canManageSigners(user.roles))} />
    </>
  );
}
