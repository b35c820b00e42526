import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import type { Db } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import { groupName, zoneName } from './zone-name';

// Moving a host to another zone changes which desired state it is sent (docs/fleet.md#zones), so it is an admin's
// action, audited; the generation is raised with it so the host fetches its new zone's state at its next poll.

export const setHostZoneInput = z.object({
  hostId: z.string().min(1),
  zone: zoneName,
  /** null removes the host from its group. */
  group: groupName.nullable().default(null),
});
export type SetHostZoneInput = z.input<typeof setHostZoneInput>;

export async function setHostZone(db: Db, actor: AuditActor, raw: SetHostZoneInput) {
  const input = setHostZoneInput.parse(raw);
  return db.$transaction(async (tx) => {
    const host = await tx.host.findUnique({ where: { id: input.hostId } });
    if (!host) throw new DomainError(DomainErrorCode.NotFound, `no host "${input.hostId}"; reload the list`);
    if (host.revokedAt) throw new DomainError(DomainErrorCode.InvalidInput, `host "${host.id}" is revoked; register it again first`);
    if (host.zone === input.zone && host.group === input.group) return { changed: false };
    const running = await tx.changeRequest.count({ where: { state: { in: ['Preflight', 'Canary', 'Paused'] }, plan: { contains: '"waves"' } } });
    if (running > 0 && host.zone !== input.zone) {
      throw new DomainError(DomainErrorCode.Conflict, `a rollout in waves is running; move "${host.id}" to another zone once it has finished`);
    }
    await tx.host.update({ where: { id: host.id }, data: { zone: input.zone, group: input.group } });
    if (host.zone !== input.zone) await tx.fleetGeneration.update({ where: { id: 1 }, data: { generation: { increment: 1 }, updatedAt: new Date() } });
    await appendAuditEvent(tx, {
      actor,
      action: 'host.zone_changed',
      targetType: 'host',
      targetId: host.id,
      details: { from: { zone: host.zone, group: host.group }, to: { zone: input.zone, group: input.group } },
    });
    return { changed: true };
  });
}
