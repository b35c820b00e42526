import 'server-only';
import { appendAuditEvent } from '../audit/append';
import type { Db } from '../db/client';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError, DomainErrorCode } from '../errors';
import { hostBreakGlassSchema, type HostBreakGlass } from '../protocol';
import type { RolloutOutcome } from '../rollout/change-request.types';
import { executeRollback, planRollback, rollbackTargetVersion, type OneClickResult } from '../rollout/rollback';
import { rolloutSettings, type RolloutSettings } from '../rollout/settings';
import { readDesiredState } from './desired-state';
import { readLimitedText, type AuthenticatedHost } from './fleet-http';
import { hostActor } from './report-intake';

// A break-glass a host's admin made while no console answered (server/host/break-glass.ts), told by the host when
// a console answers again. The console ADOPTS it — in one transaction the request is rolled back with trigger
// host-break-glass (its desired state becomes the rolled-back one, so hosts are not sent back), a post-incident
// review opens, and both are audited — but only when it is exactly what a break-glass from the console would have
// done now: a module the host is sent, moved to the last promoted stable (or a running canary's stable), with
// that version's bytes. Anything else (another version, a module it does not serve, an id seen before, a stale or
// future time) is refused and audited, and the host then applies the console's state, undoing its rollback.

/** How old a break-glass may be when it is told: a host down longer is told the console's state instead. */
const MAX_AGE_MS = 7 * 86_400_000;
/** A HostBreakGlass is a few hundred bytes; its reason at most 2000 characters. */
const MAX_BODY_BYTES = 16 * 1024;
/** Clock skew tolerated for a time in the future. */
const MAX_SKEW_MS = 5 * 60_000;

export type BreakGlassAnswer = { adopted: true; result: OneClickResult } | { adopted: false; why: string };

export async function adoptHostBreakGlass(db: Db, host: Pick<AuthenticatedHost, 'id' | 'name' | 'zone'>, made: HostBreakGlass, settings: RolloutSettings = rolloutSettings(), now = Date.now()): Promise<BreakGlassAnswer> {
  const actor = hostActor(host);
  const answer = await db.$transaction(async (tx): Promise<BreakGlassAnswer> => {
    const seen = await tx.auditEvent.findFirst({ where: { action: { in: ['host.break_glass_adopted', 'host.break_glass_refused'] }, details: { contains: made.id } }, select: { seq: true } });
    if (seen) return { adopted: false, why: `break-glass ${made.id} was told before (audit seq ${seen.seq}): a replay is not adopted again` };
    const at = Date.parse(made.at);
    if (at > now + MAX_SKEW_MS || at < now - MAX_AGE_MS) return { adopted: false, why: `break-glass at ${made.at} is outside the last 7 days: too old, or in the future` };
    const served = (await readDesiredState(tx, host.zone)).modules.some((m) => m.module === made.module);
    if (!served) return { adopted: false, why: `${host.id} is not sent ${made.module}: it cannot have rolled it back` };
    const plan = await planRollback(tx, made.module);
    if (plan.kind === 'none') return { adopted: false, why: plan.why };
    const expected = rollbackTargetVersion(plan);
    const registered = expected ? await tx.moduleVersion.findUnique({ where: { moduleName_version: { moduleName: made.module, version: expected } }, select: { sm3: true } }) : null;
    if (expected !== made.to.version || registered?.sm3 !== made.to.sm3) {
      return { adopted: false, why: `${made.module} ${made.to.version} (SM3 ${made.to.sm3}) is not what a break-glass goes back to now (${expected ?? 'nothing'}${registered ? `, SM3 ${registered.sm3}` : ''})` };
    }
    const outcome: RolloutOutcome = {
      trigger: 'host-break-glass',
      message: `break-glass to ${plan.to} on host ${host.id} while the console was down: ${made.reason}`,
      by: { id: actor.id, name: actor.name },
      reason: made.reason,
      host: host.id,
    };
    const result = await executeRollback({ tx, actor, now, settings }, made.module, plan, outcome, made.reason);
    await appendAuditEvent(tx, {
      actor,
      action: 'host.break_glass_adopted',
      targetType: 'module',
      targetId: made.module,
      details: { breakGlassId: made.id, host: host.id, from: made.from?.version ?? null, to: made.to.version, reason: made.reason, at: made.at, changeRequestId: result.changeRequestId, reviewId: result.reviewId, generation: result.generation },
    });
    return { adopted: true, result };
  });
  if (!answer.adopted) {
    await db.$transaction((tx) =>
      appendAuditEvent(tx, {
        actor,
        action: 'host.break_glass_refused',
        targetType: 'module',
        targetId: made.module,
        details: { breakGlassId: made.id, host: host.id, to: `${made.to.version} ${made.to.sm3}`, reason: made.reason, at: made.at, why: answer.why },
      }),
    );
  }
  return answer;
}

/** FLEET_PATHS.breakGlass: 200 with what was adopted, 409 with why not, 400 for what is no HostBreakGlass. */
export async function acceptBreakGlass(db: Db, host: AuthenticatedHost, request: Request): Promise<Response> {
  const text = Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES ? null : await readLimitedText(request, MAX_BODY_BYTES);
  if (text === null) return Response.json({ error: DomainErrorCode.PayloadTooLarge, message: `a break-glass is at most ${MAX_BODY_BYTES} bytes` }, { status: 413 });
  const parsed = hostBreakGlassSchema.safeParse((() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  })());
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    return Response.json({ error: DomainErrorCode.InvalidInput, message: `not a HostBreakGlass: ${issues.join('; ')}` }, { status: 400 });
  }
  try {
    const answer = await adoptHostBreakGlass(db, host, parsed.data);
    if (answer.adopted) return Response.json(answer.result);
    return Response.json({ error: DomainErrorCode.Conflict, message: `break-glass not adopted: ${answer.why}` }, { status: 409 });
  } catch (error) {
    if (error instanceof DomainError) return Response.json({ error: error.code, message: error.message }, { status: DOMAIN_ERROR_HTTP_STATUS[error.code] });
    throw error;
  }
}
