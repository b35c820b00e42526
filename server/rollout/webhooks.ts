import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { canonicalJson } from '../audit/canonical-json';
import type { Db, DbTransaction } from '../db/client';
import type { WebhookDelivery } from '../db/generated/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { createWebhookInput, WebhookKind } from './webhooks.types';

// Notifications: one webhook per event kind. A delivery is written in the same transaction as the change it
// reports (an outbox), then sent with retries, so a notification is never lost to a crash nor sent for a change
// that rolled back. Receivers check `x-hotplane-signature: sm3=<HMAC-SM3 of the body with the webhook's secret>`.


const SEND_TIMEOUT_MS = 5_000;
const BATCH = 20;


export function webhookSignature(secret: string, body: string): string {
  return `sm3=${createHmac('sm3', secret).update(body).digest('hex')}`;
}

/** Queues the event for every webhook of its kind, inside the caller's transaction. */
export async function enqueueWebhookEvent(tx: DbTransaction, kind: WebhookKind, details: Record<string, unknown>) {
  const hooks = await tx.webhook.findMany({ where: { kind } });
  if (hooks.length === 0) return;
  const now = new Date();
  const payload = canonicalJson({ kind, time: now.toISOString(), ...details });
  for (const hook of hooks) {
    await tx.webhookDelivery.create({ data: { id: randomUUID(), webhookId: hook.id, kind, payload, createdAt: now, attempts: 0, nextAttemptAt: now } });
  }
}

export async function createWebhook(db: Db, actor: AuditActor, input: z.infer<typeof createWebhookInput>) {
  const secret = randomBytes(24).toString('base64url');
  return db.$transaction(async (tx) => {
    const hook = await tx.webhook.create({ data: { id: randomUUID(), kind: input.kind, url: input.url, secret, createdAt: new Date(), createdBy: actor.name } });
    await appendAuditEvent(tx, { actor, action: 'webhook.created', targetType: 'webhook', targetId: hook.id, details: { kind: input.kind, url: input.url } });
    return { id: hook.id, kind: hook.kind, url: hook.url, secret };
  });
}

export async function deleteWebhook(db: Db, actor: AuditActor, id: string) {
  await db.$transaction(async (tx) => {
    const hook = await tx.webhook.findUnique({ where: { id } });
    if (!hook) throw new DomainError(DomainErrorCode.NotFound, 'no such webhook; reload the list');
    await tx.webhook.delete({ where: { id } });
    await appendAuditEvent(tx, { actor, action: 'webhook.deleted', targetType: 'webhook', targetId: id, details: { kind: hook.kind, url: hook.url } });
  });
}

export async function listWebhooks(db: Db) {
  const hooks = await db.webhook.findMany({
    orderBy: [{ kind: 'asc' }, { createdAt: 'asc' }],
    include: { deliveries: { orderBy: { createdAt: 'desc' }, take: 10 } },
  });
  return hooks.map((h) => ({
    id: h.id,
    kind: h.kind,
    url: h.url,
    createdAt: h.createdAt,
    createdBy: h.createdBy,
    recentDeliveries: h.deliveries.map(deliveryView),
  }));
}

/** Queues a `test` event for one webhook; it goes out the way every event does (the engine's outbox sender). */
export async function sendTestEvent(db: Db, actor: AuditActor, id: string) {
  return db.$transaction(async (tx) => {
    const hook = await tx.webhook.findUnique({ where: { id } });
    if (!hook) throw new DomainError(DomainErrorCode.NotFound, 'no such webhook; reload the list');
    const now = new Date();
    const deliveryId = randomUUID();
    const payload = canonicalJson({ kind: 'test', time: now.toISOString(), webhook: hook.id, subscribedTo: hook.kind, sentBy: actor.name });
    await tx.webhookDelivery.create({ data: { id: deliveryId, webhookId: hook.id, kind: 'test', payload, createdAt: now, attempts: 0, nextAttemptAt: now } });
    await appendAuditEvent(tx, { actor, action: 'webhook.test_sent', targetType: 'webhook', targetId: hook.id, details: { kind: hook.kind, url: hook.url, delivery: deliveryId } });
    return { deliveryId };
  });
}

function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    kind: d.kind,
    createdAt: d.createdAt,
    attempts: d.attempts,
    state: d.deliveredAt ? ('delivered' as const) : d.failedAt ? ('failed' as const) : ('pending' as const),
    deliveredAt: d.deliveredAt,
    nextAttemptAt: d.nextAttemptAt,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
  };
}

/** One webhook's delivery history, newest first. */
export async function webhookDeliveries(db: Db, id: string, limit = 50) {
  const hook = await db.webhook.findUnique({ where: { id } });
  if (!hook) throw new DomainError(DomainErrorCode.NotFound, 'no such webhook; reload the list');
  const rows = await db.webhookDelivery.findMany({ where: { webhookId: id }, orderBy: { createdAt: 'desc' }, take: limit });
  return { id: hook.id, kind: hook.kind, url: hook.url, deliveries: rows.map(deliveryView) };
}

/** Sends what is due, oldest first; a failure waits retryMs × 2^attempt, and after maxAttempts it is given up. */
export async function deliverDueWebhooks(db: Db, options: { maxAttempts: number; retryMs: number; now?: number }): Promise<number> {
  const now = options.now ?? Date.now();
  const due = await db.webhookDelivery.findMany({
    where: { nextAttemptAt: { lte: new Date(now) } },
    orderBy: { nextAttemptAt: 'asc' },
    take: BATCH,
    include: { webhook: true },
  });
  for (const delivery of due) {
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(delivery.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hotplane-event': delivery.kind,
          'x-hotplane-delivery': delivery.id,
          'x-hotplane-signature': webhookSignature(delivery.webhook.secret, delivery.payload),
        },
        body: delivery.payload,
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      status = response.status;
      await response.arrayBuffer();
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const attempts = delivery.attempts + 1;
    const givenUp = error !== null && attempts >= options.maxAttempts;
    await db.webhookDelivery.update({
      where: { id: delivery.id },
      data: {
        attempts,
        lastStatus: status,
        lastError: error,
        deliveredAt: error === null ? new Date() : null,
        failedAt: givenUp ? new Date() : null,
        nextAttemptAt: error === null || givenUp ? null : new Date(Date.now() + options.retryMs * 2 ** (attempts - 1)),
      },
    });
  }
  return due.length;
}
