import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR } from '../audit/actor';
import type { Db } from '../db/client';
import { readCrashMarker } from '../host/crash-marker';
import type { DesiredModule } from '../protocol';
import { readDesiredModule, replaceDesiredModule } from './desired-state';

// When the embedded host process dies of a signal in the middle of an in-process module call, the crash marker
// names the version that was running: that version crashed the host. It is moved into its own process cell,
// so the restarted host serves it without putting every other module at risk again.

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Culprit {
  module: string;
  version: string;
}

/** The version to blame, or null: only a death by signal during an inproc call (marker not blank) names one. */
export function crashCulprit(exit: HostExit, markerText: string): Culprit | null {
  if (!exit.signal) return null;
  return readCrashMarker(markerText);
}

/** The module's desired state with the culprit in a process cell, or null when there is nothing to change. */
export function isolateVersion(desired: DesiredModule | null, version: string): DesiredModule | null {
  const target = desired?.versions.find((v) => v.version === version);
  if (!desired || !target || target.isolation === 'process') return null;
  return { ...desired, versions: desired.versions.map((v) => (v.version === version ? { ...v, isolation: 'process' as const } : v)) };
}

/** 1 s, 2 s, 4 s … up to 30 s between restarts of a host that keeps dying. */
export function restartDelayMs(consecutiveFailures: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, consecutiveFailures - 1));
}

export function describeExit(exit: HostExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * Records an unexpected host death (a HostEvent and its audit event) and, when the crash marker names a version
 * loaded in-process, isolates that version (generation + 1, `runtime.version_isolated`), all in one transaction.
 * A host that cannot start at all dies every 30 s; only the first death of such a series is audited, every one
 * is a HostEvent.
 */
export async function recordHostDeath(db: Db, hostId: string, exit: HostExit, markerText: string, stderrTail: string, consecutiveFailures = 1) {
  const culprit = crashCulprit(exit, markerText);
  return db.$transaction(async (tx) => {
    const how = describeExit(exit);
    const message = culprit
      ? `host process ${how} during an in-process call into ${culprit.module} ${culprit.version}`
      : `host process ${how}`;
    await tx.hostEvent.create({
      data: { hostId, time: new Date(), module: culprit?.module ?? null, version: culprit?.version ?? null, kind: 'host-crashed', message },
    });
    if (culprit || consecutiveFailures === 1) {
      await appendAuditEvent(tx, {
        actor: SYSTEM_ACTOR,
        action: 'host.process_crashed',
        targetType: 'host',
        targetId: hostId,
        details: { code: exit.code, signal: exit.signal, culprit: culprit ? `${culprit.module}@${culprit.version}` : null, consecutiveFailures, stderrTail },
      });
    }
    if (!culprit) return { culprit, isolated: false };
    const isolated = isolateVersion(await readDesiredModule(tx, culprit.module), culprit.version);
    if (!isolated) return { culprit, isolated: false };
    const change = await replaceDesiredModule(tx, culprit.module, isolated, SYSTEM_ACTOR.name);
    await appendAuditEvent(tx, {
      actor: SYSTEM_ACTOR,
      action: 'runtime.version_isolated',
      targetType: 'module-version',
      targetId: `${culprit.module}@${culprit.version}`,
      details: { host: hostId, reason: message, generation: change.generation, before: change.before, after: change.after },
    });
    return { culprit, isolated: true };
  });
}
