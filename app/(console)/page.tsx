import { PageHead } from '@/components/page-head';
import { OverviewView } from './overview/overview-view';

export default function OverviewPage() {
  return (
    <>
      <PageHead title="Overview" subtitle="What needs someone now. Each item links to where it is acted on." />
      <OverviewView />
    </>
  );
}
