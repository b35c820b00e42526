import 'server-only';
import { z } from 'zod';
import { listAuditEvents, auditEventFilter } from '../../audit/list';
import { consoleAuditKeyStatus, verifyAndRecord } from '../../audit/console-trail';
import { createRouter, permittedProcedure } from '../trpc';

export const auditRouter = createRouter({
  list: permittedProcedure('audit.read')
    .input(auditEventFilter)
    .query(({ ctx, input }) => listAuditEvents(ctx.db, input)),
  consoleKey: permittedProcedure('audit.read').query(() => {
    const { fingerprint, pem, algorithm, custody } = consoleAuditKeyStatus();
    return { fingerprint, pem, algorithm, custody };
  }),
  verify: permittedProcedure('audit.verify')
    .input(z.object({}).optional())
    .mutation(({ ctx }) => verifyAndRecord(ctx.db, ctx.actor)),
});
