import { z } from 'zod';
import { appendAuditEvent } from '../audit/append';
import type { AuditActor } from '../audit/actor';
import { NEVER_HOT_UPGRADABLE, type ModuleClass } from '../artifacts/manifest';
import { versionRefusal, type VersionValidityFacts } from '../artifacts/version-validity';
import type { Db, DbTransaction } from '../db/client';
import { DomainError, DomainErrorCode } from '../errors';
import type { DesiredModule, DesiredVersion } from '../host/types';
import { replaceDesiredModule, type DesiredChange } from './desired-state';

// An operator sets what every host runs for one module. The rollout engine will write the same rows through
// replaceDesiredModule; this is the direct, manual path.

const versionChoice = z.object({
  version: z.string().trim().min(1, 'name a version'),
  weight: z.number().int('weights are whole percentages').min(0, 'a weight is 0..100').max(100, 'a weight is 0..100'),
  isolation: z.enum(['inproc', 'process']),
  config: z.string().max(64 * 1024, 'config is at most 64 KiB').optional(),
});

export const setVersionsInput = z
  .object({
    module: z.string().trim().min(1),
    versions: z.array(versionChoice).max(8, 'at most 8 versions of one module at a time'),
    requestTimeoutMs: z.number().int().min(10, 'request timeout is at least 10 ms').max(600_000, 'request timeout is at most 10 minutes').optional(),
    drainDeadlineMs: z.number().int().min(0).max(3_600_000, 'drain deadline is at most an hour').optional(),
    handOff: z.object({ from: z.string().min(1), to: z.string().min(1), id: z.string().min(1).max(100) }).nullish(),
  })
  .superRefine((input, ctx) => {
    const names = input.versions.map((v) => v.version);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    if (repeated.length) ctx.addIssue({ code: 'custom', path: ['versions'], message: `version ${repeated[0]} is listed twice` });
    const total = input.versions.reduce((sum, v) => sum + v.weight, 0);
    if (total !== 100 && total !== 0) {
      ctx.addIssue({ code: 'custom', path: ['versions'], message: `weights add up to ${total}; they must add up to 100 (or all be 0 to unload the module)` });
    }
    if (input.handOff && (!names.includes(input.handOff.from) || !names.includes(input.handOff.to))) {
      ctx.addIssue({ code: 'custom', path: ['handOff'], message: 'a hand-off goes between two of the versions listed' });
    }
  });
export type SetVersionsInput = z.infer<typeof setVersionsInput>;

// Why a registry version cannot be loaded as asked, or null when it can.
function refusal(
  module: string,
  choice: z.infer<typeof versionChoice>,
  found: (VersionValidityFacts & { goRuntime: boolean }) | undefined,
): string | null {
  if (!found) return `${module} ${choice.version} is not in the registry`;
  const invalid = versionRefusal(found);
  if (invalid) return invalid;
  if (found.goRuntime && choice.isolation === 'inproc') {
    return `${module} ${choice.version} carries a Go runtime, which can neither be unloaded nor share a process with another Go runtime: choose isolation "process"`;
  }
  return null;
}

async function desiredModuleFrom(tx: DbTransaction, input: SetVersionsInput): Promise<DesiredModule | null> {
  const found = await tx.module.findUnique({ where: { name: input.module }, include: { versions: { include: { signer: true } } } });
  if (!found) throw new DomainError(DomainErrorCode.NotFound, `no module named "${input.module}" in the registry`);
  if (input.versions.every((v) => v.weight === 0)) return null;
  if (NEVER_HOT_UPGRADABLE.includes(found.class as ModuleClass)) {
    throw new DomainError(
      DomainErrorCode.InvalidInput,
      `RED LINE: ${found.name} is a ${found.class} module; ${NEVER_HOT_UPGRADABLE.join(', ')} modules are never loaded by the hot-upgrade runtime`,
    );
  }
  const byVersion = new Map(found.versions.map((v) => [v.version, v]));
  const problems = input.versions.map((choice) => refusal(found.name, choice, byVersion.get(choice.version))).filter((p) => p !== null);
  if (problems.length) throw new DomainError(DomainErrorCode.InvalidInput, problems.join('; '));
  const versions = input.versions.map((choice): DesiredVersion => {
    const desired: DesiredVersion = { version: choice.version, sm3: byVersion.get(choice.version)!.sm3, weight: choice.weight, isolation: choice.isolation };
    if (choice.config) desired.config = choice.config;
    return desired;
  });
  const desired: DesiredModule = { module: found.name, versions };
  if (input.requestTimeoutMs !== undefined) desired.requestTimeoutMs = input.requestTimeoutMs;
  if (input.drainDeadlineMs !== undefined) desired.drainDeadlineMs = input.drainDeadlineMs;
  if (input.handOff) desired.handOff = input.handOff;
  return desired;
}

async function changeDesired(db: Db, actor: AuditActor, module: string, decide: (tx: DbTransaction) => Promise<DesiredModule | null>) {
  return db.$transaction(async (tx): Promise<DesiredChange> => {
    const change = await replaceDesiredModule(tx, module, await decide(tx), actor.name);
    if (change.changed) {
      await appendAuditEvent(tx, {
        actor,
        action: 'runtime.desired_changed',
        targetType: 'module',
        targetId: module,
        details: { generation: change.generation, before: change.before, after: change.after },
      });
    }
    return change;
  });
}

/** Validates against the registry and writes in one transaction; weights all 0 (or no versions) unload the module. */
export function setVersions(db: Db, actor: AuditActor, input: SetVersionsInput) {
  return changeDesired(db, actor, input.module, (tx) => desiredModuleFrom(tx, input));
}

export function removeModule(db: Db, actor: AuditActor, module: string) {
  return changeDesired(db, actor, module, async () => null);
}
