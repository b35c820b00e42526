'use client';
import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { ReasonDialog } from '@/components/reason-dialog';

export interface Permitted {
  propose: boolean;
  approve: boolean;
  operate: boolean;
}

type AskingFor = 'abort' | 'cancel' | 'promote' | null;

function skipped(step: number | null, of: number) {
  if (step === null || step >= of) return '';
  return step + 1 === of ? `, skipping step ${of} and its analysis` : `, skipping steps ${step + 1}–${of} and their analysis`;
}

/** The buttons the state machine offers in this state, narrowed to what this person may do. */
export function RequestActions({
  id,
  actions,
  may,
  promotion,
  onEdit,
  onDone,
}: {
  id: string;
  actions: string[];
  may: Permitted;
  /** What promoting now does, said in the confirmation. */
  promotion: { module: string; to: string; from: string; step: number | null; of: number };
  onEdit: () => void;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const [asking, setAsking] = useState<AskingFor>(null);
  const settle = { onSuccess: () => { setAsking(null); onDone(); } };
  const start = useMutation(trpc.rollouts.operate.start.mutationOptions(settle));
  const pause = useMutation(trpc.rollouts.operate.pause.mutationOptions(settle));
  const resume = useMutation(trpc.rollouts.operate.resume.mutationOptions(settle));
  const promote = useMutation(trpc.rollouts.operate.promote.mutationOptions(settle));
  const abort = useMutation(trpc.rollouts.operate.abort.mutationOptions(settle));
  const submit = useMutation(trpc.rollouts.changes.submit.mutationOptions(settle));
  const cancel = useMutation(trpc.rollouts.changes.cancel.mutationOptions(settle));
  const all = [start, pause, resume, promote, abort, submit, cancel];
  const pending = all.some((m) => m.isPending);
  const error = [start, pause, resume, submit].find((m) => m.error)?.error?.message ?? null;
  const startRefusal = start.data && !start.data.started ? start.data.reason : null;

  const has = (event: string) => actions.includes(event);
  const operate = may.operate;
  const buttons = [
    operate && has('start') && { label: 'Start rollout', tone: '', run: () => start.mutate({ id }) },
    operate && has('pause') && { label: 'Pause', tone: 'secondary', run: () => pause.mutate({ id }) },
    operate && has('resume') && { label: 'Resume', tone: '', run: () => resume.mutate({ id }) },
    operate && has('promote') && { label: 'Promote now', tone: 'secondary', run: () => setAsking('promote') },
    operate && has('abort') && { label: 'Abort (roll back)', tone: 'danger', run: () => setAsking('abort') },
    may.propose && has('edit') && { label: 'Edit', tone: 'secondary', run: onEdit },
    may.propose && has('submit') && { label: 'Send for approval', tone: '', run: () => submit.mutate({ id }) },
    may.propose && has('cancel') && { label: 'Cancel request', tone: 'secondary', run: () => setAsking('cancel') },
  ].filter((b) => b !== false);

  if (buttons.length === 0) return null;
  return (
    <div className="stack">
      <div className="row" role="group" aria-label="Request actions">
        {buttons.map((b) => (
          <button key={b.label} type="button" className={`button ${b.tone}`} disabled={pending} onClick={b.run}>
            {b.label}
          </button>
        ))}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {startRefusal && <p role="alert" className="error">Not started: {startRefusal}</p>}
      <ConfirmDialog
        open={asking === 'promote'}
        title={`Promote ${promotion.module} ${promotion.to} now`}
        explanation={`All traffic moves to ${promotion.to} at once${skipped(promotion.step, promotion.of)}; ${promotion.from} stays warm for the rollback window.`}
        confirmLabel="Promote to 100 %"
        pending={pending}
        error={promote.error?.message ?? null}
        onConfirm={() => promote.mutate({ id })}
        onClose={() => setAsking(null)}
      />
      <ReasonDialog
        open={asking === 'abort' || asking === 'cancel'}
        title={asking === 'abort' ? 'Abort the rollout' : 'Cancel the request'}
        explanation={asking === 'abort' ? 'All traffic goes back to the stable version and the canary is unloaded.' : 'The request ends; approvals are void.'}
        confirmLabel={asking === 'abort' ? 'Abort and roll back' : 'Cancel request'}
        pending={pending}
        error={(asking === 'abort' ? abort.error : cancel.error)?.message ?? null}
        onConfirm={(reason) => (asking === 'abort' ? abort.mutate({ id, reason }) : cancel.mutate({ id, reason }))}
        onClose={() => setAsking(null)}
      />
    </div>
  );
}
