import type { AuditActor } from '../audit/actor';
import { signSm2 } from '../crypto';
import type { ChangeRequest } from '../db/generated/client';
import type { Db } from '../db/client';
import { FleetMetrics } from '../fleet/metrics-store';
import { approveChange } from './approvals';
import { approvalMessage } from './digest';
import { startRollout } from './operate';
import { probeProcessPreflight, type PreflightRunner } from './preflight';
import type { RolloutSettings } from './settings';
import { proposeWholeChange, runWholeChange } from './whole-change';
import type { ProposeDesiredInput } from './whole-change.types';

// The demo seed's, the tests' and the proof's road to production — the same as everyone's: one person proposes,
// a second signs the digest with their approval key, the proposer starts it, and the preflight and the write run
// as the engine runs them (here at once rather than on the engine's next tick). Nothing writes desired state
// directly.

export interface ApproverWithKey {
  actor: AuditActor;
  /** PEM of the approver's SM2 private key; its public half must be registered on their profile. */
  privateKeyPem: string;
}

export interface ApprovedChangeOptions {
  proposer: AuditActor;
  approver: ApproverWithKey;
  settings: RolloutSettings;
  metrics?: FleetMetrics;
  preflight?: PreflightRunner;
}

export function signApproval(digest: string, privateKeyPem: string): string {
  return Buffer.from(signSm2(approvalMessage(digest), privateKeyPem)).toString('hex');
}

/** Proposes `input`, approves, starts and applies it; throws with the reason unless it ends Promoted. */
export async function applyThroughChangeRequest(db: Db, input: ProposeDesiredInput, options: ApprovedChangeOptions): Promise<ChangeRequest> {
  const proposed = await proposeWholeChange(db, options.proposer, { ...input, submit: true });
  const signature = signApproval(proposed.digest, options.approver.privateKeyPem);
  await approveChange(db, options.approver.actor, { id: proposed.id, digest: proposed.digest, signature }, { ttlMs: options.settings.approvalTtlMs });
  const started = await startRollout({ db, settings: options.settings, metrics: options.metrics ?? new FleetMetrics() }, options.proposer, proposed.id);
  if (!started.started) throw new Error(`${proposed.id} did not start: ${started.reason}`);
  const done = await runWholeChange(db, proposed.id, { preflight: options.preflight ?? probeProcessPreflight, settings: options.settings, actor: options.proposer });
  if (done.state !== 'Promoted') throw new Error(`${proposed.id} (${input.module}) ended ${done.state}: ${done.outcome ?? 'no outcome'}`);
  return done;
}
