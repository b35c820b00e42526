import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { canManageWebhooks } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { WebhooksView } from './webhooks-view';

export const metadata: Metadata = { title: 'Webhooks' };

export default async function WebhooksPage() {
  const user = await currentUser();
  if (!user || !canManageWebhooks(user.roles)) redirect('/');
  return (
    <>
      <PageHead
        title="Webhooks"
        subtitle="One receiver per event kind. Each delivery is signed: x-hotplane-signature is sm3=<HMAC-SM3 of the body with the webhook's secret>."
      />
      <WebhooksView />
    </>
  );
}
