import { dialectOfDb, type DbTransaction } from '../db/client';
import type { AuditActor } from './actor';
import { GENESIS_PREV_HASH, rowOf, type AuditEventRow } from './chain';
import { canonicalJson, type JsonObject } from './canonical-json';

export const AUDIT_ACTIONS = [
  'console.started',
  'console.stopped',
  'demo.seeded',
  'session.login',
  'session.logout',
  'session.login_failed',
  'session.login_refused_locked',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.roles_changed',
  'user.password_reset',
  'apitoken.created',
  'apitoken.revoked',
  'signer.registered',
  'signer.revoked',
  'artifact.accepted',
  'artifact.rejected',
  'artifact.revoked',
  'artifact.reuploaded',
  'change.created',
  'change.edited',
  'change.submitted',
  'change.approved',
  'change.approval_voided',
  'change.cancelled',
  'rollout.preflight_passed',
  'rollout.preflight_failed',
  'rollout.step_started',
  'rollout.paused',
  'rollout.resumed',
  'rollout.promoted',
  'rollout.rolled_back',
  'rollout.aborted',
  'host.registered',
  'host.desired_state_changed',
  'audit.verified',
  'audit.exported',
] as const;

/**
 * Actions other parts of the control plane add without editing the list above, by declaration merging:
 * `declare module '<path>/server/audit/append' { interface ExtraAuditActions { 'fleet.drained': true } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ExtraAuditActions {}

export type AuditAction = (typeof AUDIT_ACTIONS)[number] | (keyof ExtraAuditActions & string);

// Dotted lower-case names keep the trail greppable and let a reader filter by subject ("artifact.*").
const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export interface AuditEventInput {
  actor: AuditActor;
  action: AuditAction;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export class AuditInputError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'AuditInputError';
  }
}

function checkInput(input: AuditEventInput): void {
  if (!ACTION_PATTERN.test(input.action)) {
    throw new AuditInputError(`audit action "${input.action}" is not a dotted lower-case name such as "artifact.accepted"`);
  }
  const { actor } = input;
  if (!actor?.id || !actor.name) throw new AuditInputError('an audit event needs an actor with an id and a name');
  if (!actor.roles.every((role) => typeof role === 'string')) throw new AuditInputError('actor roles must be strings');
  if (typeof input.targetType !== 'string' || typeof input.targetId !== 'string') {
    throw new AuditInputError('targetType and targetId must be strings (use "" when an action has no target)');
  }
}

// Any constant, the same in every console process: the key of PostgreSQL's advisory lock on the chain head.
const AUDIT_CHAIN_LOCK = 72_707_002;

/**
 * Appends one event to the chain inside the caller's transaction, so the change it records and the record
 * commit or roll back together. On SQLite every transaction holds the one write lock (lock-wait.ts), so appends
 * are serialised across processes. On PostgreSQL the transaction first takes an advisory lock held until it ends:
 * the next appender, in any process, reads the head only once this one has committed or rolled back. Should
 * anything append without it, it loses on the seq primary key rather than forking the chain.
 */
export async function appendAuditEvent(tx: DbTransaction, input: AuditEventInput): Promise<AuditEventRow> {
  checkInput(input);
  // Canonicalising first turns an unserialisable detail into an error before anything is written.
  const details = JSON.parse(canonicalJson(input.details ?? {})) as JsonObject;
  if (dialectOfDb(tx) === 'postgresql') await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;
  const head = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
  const row = rowOf({
    seq: (head?.seq ?? 0) + 1,
    time: new Date().toISOString(),
    actorId: input.actor.id,
    actorName: input.actor.name,
    actorRoles: [...new Set(input.actor.roles)].sort(),
    actorKeyFp: input.actor.keyFingerprint ?? '',
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId,
    details,
    prevHash: head?.hash ?? GENESIS_PREV_HASH,
  });
  await tx.auditEvent.create({ data: row });
  return row;
}
