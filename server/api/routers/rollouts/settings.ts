import 'server-only';
import { z } from 'zod';
import { consoleAuditPublicKey } from '../../../audit/console-trail';
import { evidenceDownload } from '../../../rollout/evidence';
import { listSigningKeys, registerKeyInput, registerSigningKey, revokeSigningKey } from '../../../rollout/signing-keys';
import { createWebhook, deleteWebhook, listWebhooks, sendTestEvent, webhookDeliveries } from '../../../rollout/webhooks';
import { createWebhookInput } from '../../../rollout/webhooks.types';
import { createRouter, permittedProcedure } from '../../trpc';

// Personal approval keys (everyone, on their profile), evidence downloads, and webhooks (admins).

const keys = permittedProcedure('profile.keys');
const webhooks = permittedProcedure('webhooks.manage');

export const keysRouter = createRouter({
  mine: keys.query(({ ctx }) => listSigningKeys(ctx.db, ctx.user.id)),
  register: keys.input(registerKeyInput).mutation(({ ctx, input }) => registerSigningKey(ctx.db, ctx.actor, input)),
  revoke: keys.input(z.object({ id: z.string().min(1) })).mutation(({ ctx, input }) => revokeSigningKey(ctx.db, ctx.actor, input.id)),
});

export const evidenceRouter = createRouter({
  /** The signed bundle as a file to save: content (canonical JSON), its SM3, the console's signature and public key. */
  download: permittedProcedure('changes.read')
    .input(z.object({ id: z.string().min(1) }))
    .query(({ ctx, input }) => evidenceDownload(ctx.db, input.id, consoleAuditPublicKey().pem)),
});

export const webhooksRouter = createRouter({
  list: webhooks.query(({ ctx }) => listWebhooks(ctx.db)),
  /** Returns the HMAC secret once. */
  create: webhooks.input(createWebhookInput).mutation(({ ctx, input }) => createWebhook(ctx.db, ctx.actor, input)),
  delete: webhooks.input(z.object({ id: z.string().min(1) })).mutation(({ ctx, input }) => deleteWebhook(ctx.db, ctx.actor, input.id)),
  /** Queues a signed `test` event to this webhook through the outbox; it shows in its deliveries once sent. */
  sendTest: webhooks.input(z.object({ id: z.string().min(1) })).mutation(({ ctx, input }) => sendTestEvent(ctx.db, ctx.actor, input.id)),
  deliveries: webhooks
    .input(z.object({ id: z.string().min(1), limit: z.number().int().min(1).max(500).default(50) }))
    .query(({ ctx, input }) => webhookDeliveries(ctx.db, input.id, input.limit)),
});
