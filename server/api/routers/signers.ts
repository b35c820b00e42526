import 'server-only';
import { z } from 'zod';
import { listSigners, registerSigner, registerSignerInput, revokeSigner } from '../../signers/registry';
import { createRouter, permittedProcedure } from '../trpc';

export const signersRouter = createRouter({
  list: permittedProcedure('signers.read').query(({ ctx }) => listSigners(ctx.db)),
  register: permittedProcedure('signers.manage')
    .input(registerSignerInput)
    .mutation(async ({ ctx, input }) => {
      const signer = await registerSigner(ctx.db, ctx.actor, input);
      return { id: signer.id, fingerprint: signer.fingerprint };
    }),
  revoke: permittedProcedure('signers.manage')
    .input(z.object({ signerId: z.string(), reason: z.string().trim().min(3, 'say why the signer is revoked') }))
    .mutation(({ ctx, input }) => revokeSigner(ctx.db, ctx.actor, input.signerId, input.reason)),
});
