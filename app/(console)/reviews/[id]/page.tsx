import { currentUser } from '@/server/auth/current-user';
import { canAcknowledgeReviews } from '@/server/auth/permissions';
import { ReviewView } from './review-view';

export default async function ReviewPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await currentUser();
  return <ReviewView id={id} mayAcknowledge={canAcknowledgeReviews(user?.roles ?? [])} />;
}
