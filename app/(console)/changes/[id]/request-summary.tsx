import type { ChangeState } from '@/server/rollout/change-request.types';
import type { ApprovalRow } from '@/components/approvals-list';
import { Time } from '@/components/time';

/** The state in the words an operator reads at a glance, with the versions filled in. */
export function stateInWords(state: ChangeState, c: { from: string; to: string; step: { weight: number } | null }): string {
  switch (state) {
    case 'Draft':
      return 'Draft: not sent for approval yet';
    case 'PendingApproval':
      return 'Waiting for approval';
    case 'Approved':
      return 'Approved: ready to start';
    case 'Rejected':
      return 'Rejected by an approver';
    case 'Preflight':
      return `Preflight: loading ${c.to} on the hosts before any traffic`;
    case 'Canary':
      return `Canary running: ${c.step?.weight ?? 0} % of traffic on ${c.to}, the rest on ${c.from}`;
    case 'Paused':
      return `Paused at ${c.step?.weight ?? 0} % on ${c.to}: the weights stay, nothing advances`;
    case 'Promoted':
      return `Promoted: all traffic on ${c.to}`;
    case 'RolledBack':
      return `Rolled back: all traffic on ${c.from}`;
    case 'Aborted':
      return `Aborted: all traffic on ${c.from}`;
    case 'Failed':
      return 'Failed before any traffic moved';
    case 'Cancelled':
      return 'Cancelled by the requester';
  }
}

/** A rejected request says at the top who rejected it and why. */
export function RejectionBanner({ state, approvals }: { state: ChangeState; approvals: ApprovalRow[] }) {
  if (state !== 'Rejected') return null;
  const rejection = approvals.filter((a) => a.decision === 'rejected').at(-1);
  return (
    <div className="redline-box" role="alert" aria-label="Rejected">
      <strong>Rejected</strong>
      {rejection ? (
        <>
          {' '}
          by {rejection.approver.name} on <Time value={rejection.createdAt} />: <span data-testid="rejection-reason">{rejection.reason}</span>
        </>
      ) : (
        ' by an approver.'
      )}
      <div className="small">Nothing ran. To try again, propose a new request from the module page.</div>
    </div>
  );
}
