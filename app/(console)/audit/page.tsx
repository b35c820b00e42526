import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { can } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { AuditView } from './audit-view';

export const metadata: Metadata = { title: 'Audit log' };

export default async function AuditPage() {
  const user = await currentUser();
  if (!user || !can(user.roles, 'audit.read')) redirect('/modules');
  return (
    <>
      <PageHead title="Audit log" subtitle="Append-only, SM3 hash-chained, checkpointed with the console's SM2 key outside the database." />
      <AuditView canVerify={can(user.roles, 'audit.verify')} canExport={can(user.roles, 'audit.export')} />
    </>
  );
}
