import { z } from 'zod';
import type { Db } from '../db/client';

export const auditEventFilter = z.object({
  action: z.string().trim().max(80).optional(),
  actor: z.string().trim().max(200).optional(),
  target: z.string().trim().max(200).optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  beforeSeq: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type AuditEventFilter = z.infer<typeof auditEventFilter>;

// Newest first, paged by seq, between `from` and `to` inclusive; `action` matches a prefix so "artifact." lists every artifact event.
export async function listAuditEvents(db: Db, filter: AuditEventFilter) {
  const where = {
    ...(filter.action ? { action: { startsWith: filter.action } } : {}),
    ...(filter.actor ? { actorName: { contains: filter.actor } } : {}),
    ...(filter.target ? { targetId: { contains: filter.target } } : {}),
    ...(filter.from || filter.to
      ? { time: { ...(filter.from ? { gte: filter.from.toISOString() } : {}), ...(filter.to ? { lte: filter.to.toISOString() } : {}) } }
      : {}),
    ...(filter.beforeSeq ? { seq: { lt: filter.beforeSeq } } : {}),
  };
  const rows = await db.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, take: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const userIds = [...new Set(page.filter((row) => row.targetType === 'user').map((row) => row.targetId))];
  const users = userIds.length ? await db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, name: true, email: true } }) : [];
  const userLabel = new Map(users.map((u) => [u.id, `${u.name} <${u.email}>`]));
  return {
    events: page.map((row) => ({
      seq: row.seq,
      time: row.time,
      actorName: row.actorName,
      actorRoles: row.actorRoles,
      actorKeyFp: row.actorKeyFp,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      // Who a user event is about, as the person is called today (the id alone tells a reader nothing).
      targetName: row.targetType === 'user' ? (userLabel.get(row.targetId) ?? null) : null,
      details: row.details,
      hash: row.hash,
    })),
    nextBeforeSeq: rows.length > filter.limit ? page[page.length - 1].seq : null,
  };
}
