import { config } from '../config';
import type { Db, DbTransaction } from '../db/client';
import { parseRoles, type Role } from '../auth/permissions';

// The one rule for who may approve a change, used when an approval is given, when a rollout starts and at
// every step of a running one. Pure over a loaded record, so each path decides the same way.

export interface ApproverRecord {
  id: string;
  email: string;
  exists: boolean;
  disabled: boolean;
  roles: Role[];
  /** When they obtained the approver role (their latest applied grant), null without it. */
  approverSince: Date | null;
  /** Fingerprints of their approval keys that are not revoked. */
  activeKeys: string[];
}

export interface ApprovalRule {
  /** The moment judged: now for a new approval, the approval's own time when re-checking one. */
  at: number;
  minRoleAgeMs: number;
  /** Re-checking an approval: the key it was signed with must still be active. */
  signedWith?: string | null;
}

export type ApprovalVerdict = { ok: true } | { ok: false; rule: 'four-eyes' | 'account' | 'role' | 'role-age' | 'key'; reason: string };

const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10} h`;

export function canApprove(user: ApproverRecord, change: { id: string; requestedById: string }, rule: ApprovalRule): ApprovalVerdict {
  if (user.id === change.requestedById) {
    return { ok: false, rule: 'four-eyes', reason: `${user.email} proposed ${change.id} and cannot approve or reject it: a second person must` };
  }
  if (!user.exists || user.disabled) return { ok: false, rule: 'account', reason: `the account ${user.email} is ${user.exists ? 'disabled' : 'gone'}` };
  if (!user.roles.includes('approver') || !user.approverSince) return { ok: false, rule: 'role', reason: `${user.email} does not have the approver role` };
  const age = rule.at - user.approverSince.getTime();
  if (age < rule.minRoleAgeMs) {
    return {
      ok: false,
      rule: 'role-age',
      reason: `${user.email} has held the approver role for ${hours(Math.max(0, age))}; an approver counts only after ${hours(rule.minRoleAgeMs)} (HOTPLANE_MIN_APPROVER_ROLE_AGE_MS)`,
    };
  }
  if (rule.signedWith !== undefined && (!rule.signedWith || !user.activeKeys.includes(rule.signedWith))) {
    return { ok: false, rule: 'key', reason: `the approval key ${rule.signedWith?.slice(0, 16) ?? '(none)'}… of ${user.email} is revoked` };
  }
  return { ok: true };
}

/** When the person obtained `role` (their latest applied grant); accounts older than grants count from creation. */
export async function roleHeldSince(tx: DbTransaction | Db, user: { id: string; createdAt: Date }, role: Role): Promise<Date> {
  const grant = await tx.roleGrant.findFirst({ where: { userId: user.id, role, state: 'applied' }, orderBy: { decidedAt: 'desc' } });
  return grant?.decidedAt ?? user.createdAt;
}

export async function loadApprover(tx: DbTransaction | Db, userId: string, fallbackName: string): Promise<ApproverRecord> {
  const user = await tx.user.findUnique({ where: { id: userId } });
  if (!user) return { id: userId, email: fallbackName, exists: false, disabled: true, roles: [], approverSince: null, activeKeys: [] };
  const roles = parseRoles(user.roles);
  const keys = await tx.userSigningKey.findMany({ where: { userId, revokedAt: null }, select: { fingerprint: true } });
  return {
    id: user.id,
    email: user.email,
    exists: true,
    disabled: user.disabled,
    roles,
    approverSince: roles.includes('approver') ? await roleHeldSince(tx, user, 'approver') : null,
    activeKeys: keys.map((k) => k.fingerprint),
  };
}

export const minApproverRoleAgeMs = () => config().minApproverRoleAgeMs;
