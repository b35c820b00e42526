import type { Metadata } from 'next';
import { currentUser } from '@/server/auth/current-user';
import { canAcknowledgeReviews } from '@/server/auth/permissions';
import { ReviewView } from './review-view';

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Review ${decodeURIComponent((await params).id).slice(0, 8)}` };
}

export default async function ReviewPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await currentUser();
  return <ReviewView id={id} mayAcknowledge={canAcknowledgeReviews(user?.roles ?? [])} />;
}
