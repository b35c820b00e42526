'use client';
import { useState } from 'react';
import { useRouter, useSearchParams } from 'next/navigation';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ProposeChangeForm } from '@/components/propose-change-form';
import { acceptedVersions } from './accepted-versions';

/** `?module=…&version=…` (the upload page's shortcut) opens the form on that module with that version as the canary. */
export function ProposeChange() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const params = useSearchParams();
  const [module, setModule] = useState(params.get('module') ?? '');
  const proposedVersion = module === params.get('module') ? (params.get('version') ?? undefined) : undefined;
  const modules = useQuery(trpc.modules.list.queryOptions());
  const detail = useQuery(trpc.modules.detail.queryOptions({ name: module }, { enabled: module !== '' }));
  const propose = useMutation(
    trpc.rollouts.changes.propose.mutationOptions({
      onSuccess: async (created) => {
        await queryClient.invalidateQueries({ queryKey: trpc.rollouts.changes.pathKey() });
        router.push(`/changes/${created.id}`);
      },
    }),
  );
  return (
    <div id="propose">
      <ProposeChangeForm
        modules={modules.data ?? []}
        module={module}
        versions={acceptedVersions(detail.data)}
        pending={propose.isPending}
        error={(propose.error ?? modules.error ?? detail.error)?.message ?? null}
        onModuleChange={setModule}
        onSubmit={(input) => propose.mutate(input)}
        proposedVersion={proposedVersion}
      />
    </div>
  );
}
