import 'server-only';
import { z } from 'zod';
import { ROLES } from '../../auth/permissions';
import { confirmRoleGrant, declineRoleGrant, listPendingGrants } from '../../auth/role-grants';
import { createUser, listUsers, newUserInput, resetUserPassword, setUserDisabled, setUserRoles, unlockAccount } from '../../auth/users';
import { createRouter, permittedProcedure } from '../trpc';

const manageUsers = permittedProcedure('users.manage');
const byGrant = z.object({ grantId: z.string() });
const byUser = z.object({ userId: z.string() });

export const usersRouter = createRouter({
  list: manageUsers.query(({ ctx }) => listUsers(ctx.db)),
  create: manageUsers.input(newUserInput).mutation(({ ctx, input }) => createUser(ctx.db, ctx.actor, input)),
  setRoles: manageUsers
    .input(z.object({ userId: z.string(), roles: z.array(z.enum(ROLES)).min(1, 'keep at least one role; disable the user instead') }))
    .mutation(({ ctx, input }) => setUserRoles(ctx.db, ctx.actor, input.userId, input.roles)),
  pendingGrants: manageUsers.query(({ ctx }) => listPendingGrants(ctx.db)),
  confirmGrant: manageUsers.input(byGrant).mutation(({ ctx, input }) => confirmRoleGrant(ctx.db, ctx.actor, input.grantId)),
  declineGrant: manageUsers.input(byGrant).mutation(({ ctx, input }) => declineRoleGrant(ctx.db, ctx.actor, input.grantId)),
  setDisabled: manageUsers
    .input(z.object({ userId: z.string(), disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setUserDisabled(ctx.db, ctx.actor, input.userId, input.disabled)),
  resetPassword: manageUsers.input(byUser).mutation(({ ctx, input }) => resetUserPassword(ctx.db, ctx.actor, input.userId)),
  unlock: manageUsers.input(byUser).mutation(({ ctx, input }) => unlockAccount(ctx.db, ctx.actor, input.userId)),
});
