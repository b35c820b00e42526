'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ProposeChangeForm, type EditedRequest } from '@/components/propose-change-form';
import { acceptedVersions } from '../accepted-versions';

/** The requester changes the target or the plan; the server bumps the revision and voids every approval. */
export function EditRequest({ id, module, revision, request, onDone }: { id: string; module: string; revision: number; request: EditedRequest; onDone: () => void }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.modules.detail.queryOptions({ name: module }));
  const edit = useMutation(trpc.rollouts.changes.edit.mutationOptions({ onSuccess: onDone }));
  if (detail.isPending) return <p className="muted">Loading the versions of {module}…</p>;
  return (
    <ProposeChangeForm
      modules={[{ name: module, hotUpgradable: true }]}
      module={module}
      versions={acceptedVersions(detail.data)}
      pending={edit.isPending}
      error={(edit.error ?? detail.error)?.message ?? null}
      onModuleChange={() => undefined}
      onSubmit={(input) => edit.mutate({ id, revision, toVersion: input.toVersion, plan: input.plan, reason: input.reason, ticket: input.ticket })}
      editing={request}
      onCancelEdit={onDone}
    />
  );
}
