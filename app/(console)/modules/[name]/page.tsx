import { ModuleDetail } from './module-detail';

export default async function ModulePage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  return <ModuleDetail name={name} />;
}
