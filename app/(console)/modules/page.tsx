import type { Metadata } from 'next';
import { ModulesTable } from './modules-table';
import { PageHead } from '@/components/page-head';

export const metadata: Metadata = { title: 'Modules' };

export default function ModulesPage() {
  return (
    <>
      <PageHead title="Modules" subtitle="Every module in the registry, its latest accepted version and who signed it." />
      <ModulesTable />
    </>
  );
}
