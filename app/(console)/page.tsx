import type { Metadata } from 'next';
import { PageHead } from '@/components/page-head';
import { OverviewView } from './overview/overview-view';

export const metadata: Metadata = { title: 'Overview' };

export default function OverviewPage() {
  return (
    <>
      <PageHead title="Overview" subtitle="What needs someone now. Each item links to where it is acted on." />
      <OverviewView />
    </>
  );
}
