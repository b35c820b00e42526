import type { Role } from '@/server/auth/permissions';

// What a role lets its holder do, in the words of docs/roles.md: shown when an admin grants it.
export const ROLE_SUMMARIES: Record<Role, string> = {
  admin: 'manage users and roles, signers, remote hosts and webhooks, revoke versions, override circuit breakers, read and verify the audit log',
  operator: 'upload versions, propose changes, start, pause, promote and abort rollouts, and roll back (break-glass)',
  approver: "sign off or reject other people's change requests with their own key, and acknowledge post-incident reviews",
  oncall: 'roll a module back to its last promoted stable version (break-glass), which opens a review',
  auditor: 'read, verify and export the audit log',
};
