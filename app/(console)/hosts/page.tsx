import type { Metadata } from 'next';
import { canManageFleet, canSwitchDemoTraffic } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { HostsView } from './hosts-view';

export const metadata: Metadata = { title: 'Hosts' };

export default async function HostsPage() {
  const user = await currentUser();
  return (
    <>
      <PageHead title="Hosts" subtitle="Runtime hosts pull the desired state from this console and report what they run." />
      <HostsView canManage={Boolean(user && canManageFleet(user.roles))} canSwitchDemoTraffic={Boolean(user && canSwitchDemoTraffic(user.roles))} />
    </>
  );
}
