import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { canProposeChanges, canUpload } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { PageHead } from '@/components/page-head';
import { UploadForm } from './upload-form';

export const metadata: Metadata = { title: 'Upload' };

export default async function UploadPage() {
  const user = await currentUser();
  if (!user || !canUpload(user.roles)) redirect('/modules');
  return (
    <>
      <PageHead
        title="Upload a module version"
        subtitle="Drop the three files of a signed artifact: name.so, name.so.manifest.json and name.so.manifest.sig."
      />
      <UploadForm canPropose={canProposeChanges(user.roles)} />
    </>
  );
}
