'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/app/trpc';
import { formatTime } from '@/components/change-badges';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { QueryState } from '@/components/query-state';
import { WebhookDeliveries } from '@/components/webhook-deliveries';
import { WEBHOOK_KINDS } from '@/server/rollout/webhooks.types';

function CreateWebhook() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [copied, setCopied] = useState(false);
  const create = useMutation(
    trpc.rollouts.webhooks.create.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.rollouts.webhooks.pathFilter()) }),
  );
  return (
    <section className="panel stack" aria-labelledby="create-heading">
      <h2 id="create-heading" style={{ margin: 0 }}>Add a webhook</h2>
      <form
        className="row"
        style={{ flexWrap: 'wrap' }}
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          setCopied(false);
          create.mutate({ kind: form.get('kind') as (typeof WEBHOOK_KINDS)[number], url: String(form.get('url') ?? '') });
        }}
      >
        <label className="small">
          Event{' '}
          <select name="kind" defaultValue="rolled-back">
            {WEBHOOK_KINDS.map((kind) => (
              <option key={kind}>{kind}</option>
            ))}
          </select>
        </label>
        <label className="small">
          Receiver URL <input name="url" type="url" required placeholder="https://chat.example/hooks/hotplane" size={40} />
        </label>
        <button type="submit" className="button" disabled={create.isPending}>
          Add webhook
        </button>
      </form>
      {create.error && <p role="alert" className="error">{create.error.message}</p>}
      {create.data && (
        <div className="notice stack" role="status" data-testid="webhook-secret">
          <span>
            Secret of the new {create.data.kind} webhook, shown this once: give it to the receiver to check signatures.
          </span>
          <div className="row">
            <code>{create.data.secret}</code>
            <button
              type="button"
              className="button secondary"
              onClick={() => navigator.clipboard.writeText(create.data!.secret).then(() => setCopied(true), () => setCopied(false))}
            >
              {copied ? 'Copied' : 'Copy secret'}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

interface Hook {
  id: string;
  kind: string;
  url: string;
  createdAt: Date | string;
  createdBy: string;
}

function WebhookRow({ hook, onDelete }: { hook: Hook; onDelete: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const sendTest = useMutation(
    trpc.rollouts.webhooks.sendTest.mutationOptions({
      onSuccess: () => {
        setOpen(true);
        return queryClient.invalidateQueries(trpc.rollouts.webhooks.pathFilter());
      },
    }),
  );
  return (
    <li className="panel stack" data-webhook={hook.id}>
      <div className="row" style={{ flexWrap: 'wrap' }}>
        <span className="badge">{hook.kind}</span>
        <code>{hook.url}</code>
        <span className="small muted">
          added by {hook.createdBy}, {formatTime(hook.createdAt)}
        </span>
        <span className="spacer" />
        <button type="button" className="button secondary" onClick={() => sendTest.mutate({ id: hook.id })} disabled={sendTest.isPending}>
          Send test event
        </button>
        <button type="button" className="button secondary" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? 'Hide deliveries' : 'Deliveries'}
        </button>
        <button type="button" className="button danger" onClick={onDelete}>
          Delete
        </button>
      </div>
      {sendTest.error && <p role="alert" className="error">{sendTest.error.message}</p>}
      {sendTest.data && <p role="status" className="small">A test event was queued; it is sent within a second and shows below.</p>}
      {open && <WebhookDeliveries id={hook.id} />}
    </li>
  );
}

export function WebhooksView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const hooks = useQuery(trpc.rollouts.webhooks.list.queryOptions(undefined, { refetchInterval: 5_000 }));
  const [deleting, setDeleting] = useState<Hook | null>(null);
  const remove = useMutation(
    trpc.rollouts.webhooks.delete.mutationOptions({
      onSuccess: () => {
        setDeleting(null);
        return queryClient.invalidateQueries(trpc.rollouts.webhooks.pathFilter());
      },
    }),
  );
  return (
    <div className="stack">
      <CreateWebhook />
      <QueryState isPending={hooks.isPending} error={hooks.error}>
        {() =>
          hooks.data!.length === 0 ? (
            <p className="muted">No webhook yet: events are only in the audit log.</p>
          ) : (
            <ul className="plain-list stack" aria-label="Webhooks">
              {hooks.data!.map((hook) => (
                <WebhookRow key={hook.id} hook={hook} onDelete={() => setDeleting(hook)} />
              ))}
            </ul>
          )
        }
      </QueryState>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this webhook?"
        explanation={deleting ? `${deleting.kind} events stop going to ${deleting.url}; its delivery history goes with it.` : undefined}
        confirmLabel="Delete webhook"
        pending={remove.isPending}
        error={remove.error?.message ?? null}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
        onClose={() => setDeleting(null)}
      />
    </div>
  );
}
