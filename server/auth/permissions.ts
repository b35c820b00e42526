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
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ['modules.read', 'signers.read', 'signers.manage', 'users.manage', 'artifacts.revoke', 'audit.read', 'audit.verify', 'tokens.own'],
  operator: ['modules.read', 'signers.read', 'artifacts.upload', 'tokens.own'],
  approver: ['modules.read', 'signers.read', 'tokens.own'],
  oncall: ['modules.read', 'signers.read', 'tokens.own'],
  auditor: ['modules.read', 'signers.read', 'audit.read', 'audit.verify', 'audit.export', 'tokens.own'],
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
