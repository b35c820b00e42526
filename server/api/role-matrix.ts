import 'server-only';
import { can, ROLES, type Permission, type Role } from '../auth/permissions';
import { appRouter } from './root';
import type { ProcedureMeta } from './trpc';

// Who may call what, read from the router itself rather than from a hand-kept list, so a procedure added
// tomorrow is in the matrix tomorrow. server/api/role-matrix.test.ts drives it through tRPC callers and
// proof/security.proof.ts over HTTP.

export type ProcedureType = 'query' | 'mutation' | 'subscription';

export interface ProcedureRule {
  /** Dotted tRPC path, e.g. "rollouts.changes.approve". */
  path: string;
  type: ProcedureType;
  /** The right it declares, "signed-in" for any signed-in user, or null when it declares neither. */
  rule: Permission | 'signed-in' | null;
  /** Per role: whether a user holding only that role may get past the gate, per server/auth/permissions.ts. */
  allowed: Record<Role, boolean>;
}

/**
 * An input every procedure's schema refuses (they all take objects), so a call that gets past the permission
 * gate stops at BAD_REQUEST instead of changing anything. Procedures without an input ignore it.
 */
export const PROBE_INPUT = 'role-matrix-probe';

interface RouterLike {
  _def: { procedures: object };
}

type ProcedureRecord = Record<string, { _def: { type: ProcedureType; meta?: ProcedureMeta } }>;

function ruleOf(meta: ProcedureMeta | undefined): ProcedureRule['rule'] {
  if (meta?.permission) return meta.permission;
  return meta?.access === 'signed-in' ? 'signed-in' : null;
}

export function roleMatrix(router: RouterLike = appRouter): ProcedureRule[] {
  return Object.entries(router._def.procedures as ProcedureRecord)
    .map(([path, procedure]) => {
      const rule = ruleOf(procedure._def.meta);
      const allowed = Object.fromEntries(
        ROLES.map((role) => [role, rule === 'signed-in' || (rule !== null && can([role], rule))]),
      ) as Record<Role, boolean>;
      return { path, type: procedure._def.type, rule, allowed };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}
