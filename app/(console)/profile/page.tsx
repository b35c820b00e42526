import type { Metadata } from 'next';
import { PageHead } from '@/components/page-head';
import { SigningKeysView } from './signing-keys-view';
import { TokensView } from './tokens-view';

export const metadata: Metadata = { title: 'Profile' };

export default function ProfilePage() {
  return (
    <>
      <PageHead title="Profile" subtitle="Your approval key, and personal API tokens for the hotplane CLI (hotplane push)." />
      <SigningKeysView />
      <h2>API tokens</h2>
      <TokensView />
    </>
  );
}
