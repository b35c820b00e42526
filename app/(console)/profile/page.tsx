import { PageHead } from '@/components/page-head';
import { TokensView } from './tokens-view';

export default function ProfilePage() {
  return (
    <>
      <PageHead title="Profile" subtitle="Personal API tokens for the hotplane CLI (hotplane push)." />
      <TokensView />
    </>
  );
}
