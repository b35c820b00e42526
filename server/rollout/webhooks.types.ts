import { z } from 'zod';

// Webhook kinds and the create form's input, shared by the API and the webhooks page (no server code here).

export const WEBHOOK_KINDS = ['approval-needed', 'rollout-started', 'promoted', 'rolled-back', 'circuit-open', 'signer-revoked', 'review-overdue'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export const createWebhookInput = z.object({
  kind: z.enum(WEBHOOK_KINDS),
  url: z.url('give the receiver as an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'only http and https receivers'),
});
