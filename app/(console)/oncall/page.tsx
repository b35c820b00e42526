import type { Metadata } from 'next';
import { PageHead } from '@/components/page-head';
import { currentUser } from '@/server/auth/current-user';
import { canRollBack } from '@/server/auth/permissions';
import { OnCallView } from './oncall-view';

export const metadata: Metadata = { title: 'On call' };

export default async function OnCallPage() {
  const user = await currentUser();
  return (
    <>
      <PageHead title="On call" subtitle="Every module at a glance; break-glass puts a module back on the last promoted stable version (or its canary to 0 %) and opens a review." />
      <OnCallView canRollBack={Boolean(user && canRollBack(user.roles))} />
    </>
  );
}
