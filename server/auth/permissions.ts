// One role → permission map; every check in the API and the UI is a named predicate over it.

export const ROLES = ['admin', 'operator', 'approver', 'oncall', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'modules.read',
  'artifacts.upload',
  'artifacts.revoke',
  'signers.read',
  'signers.manage',
  'users.manage',
  'audit.read',
  'audit.verify',
  'audit.export',
  'tokens.own',
  'runtime.read',
  // Switches the embedded host's demo traffic on and off; changes nothing that runs.
  'demo-traffic.switch',
  'fleet.manage',
  'changes.read',
  'changes.propose',
  'changes.approve',
  'rollouts.operate',
  'rollouts.rollback',
  'reviews.acknowledge',
  'breaker.override',
  'webhooks.manage',
  'profile.keys',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [
    'modules.read', 'signers.read', 'signers.manage', 'users.manage', 'artifacts.revoke', 'audit.read', 'audit.verify', 'tokens.own',
    'runtime.read', 'fleet.manage', 'changes.read', 'breaker.override', 'webhooks.manage', 'profile.keys',
  ],
  operator: [
    'modules.read', 'signers.read', 'artifacts.upload', 'tokens.own', 'runtime.read', 'demo-traffic.switch',
    'changes.read', 'changes.propose', 'rollouts.operate', 'rollouts.rollback', 'profile.keys',
  ],
  approver: ['modules.read', 'signers.read', 'tokens.own', 'runtime.read', 'changes.read', 'changes.approve', 'reviews.acknowledge', 'profile.keys'],
  oncall: ['modules.read', 'signers.read', 'tokens.own', 'runtime.read', 'changes.read', 'rollouts.rollback', 'profile.keys'],
  auditor: ['modules.read', 'signers.read', 'audit.read', 'audit.verify', 'audit.export', 'tokens.own', 'runtime.read', 'changes.read', 'profile.keys'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function parseRoles(stored: string | null | undefined): Role[] {
  return (stored ?? '').split(',').map((r) => r.trim()).filter(isRole);
}

export function formatRoles(roles: readonly Role[]): string {
  return ROLES.filter((r) => roles.includes(r)).join(',');
}

export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  return new Set(roles.flatMap((role) => ROLE_PERMISSIONS[role]));
}

export function can(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => ROLE_PERMISSIONS[role].includes(permission));
}

export const canUpload = (roles: readonly Role[]) => can(roles, 'artifacts.upload');
export const canManageSigners = (roles: readonly Role[]) => can(roles, 'signers.manage');
export const canManageUsers = (roles: readonly Role[]) => can(roles, 'users.manage');
export const canReadAudit = (roles: readonly Role[]) => can(roles, 'audit.read');
export const canExportAudit = (roles: readonly Role[]) => can(roles, 'audit.export');
export const canSwitchDemoTraffic = (roles: readonly Role[]) => can(roles, 'demo-traffic.switch');
export const canManageFleet = (roles: readonly Role[]) => can(roles, 'fleet.manage');
export const canProposeChanges = (roles: readonly Role[]) => can(roles, 'changes.propose');
export const canApproveChanges = (roles: readonly Role[]) => can(roles, 'changes.approve');
export const canOperateRollouts = (roles: readonly Role[]) => can(roles, 'rollouts.operate');
export const canRollBack = (roles: readonly Role[]) => can(roles, 'rollouts.rollback');
export const canAcknowledgeReviews = (roles: readonly Role[]) => can(roles, 'reviews.acknowledge');
export const canOverrideBreaker = (roles: readonly Role[]) => can(roles, 'breaker.override');
export const canManageWebhooks = (roles: readonly Role[]) => can(roles, 'webhooks.manage');
