/** Who caused an audit event. The name is recorded as it was at the time, so later renames do not rewrite history. */
export interface AuditActor {
  id: string;
  name: string;
  roles: readonly string[];
  /** Fingerprint (SM3 of the SPKI) of the key the actor signed with, when the action carried a signature. */
  keyFingerprint?: string;
}

/** The console acting on its own: start-up, timers, demo seeding, automatic rollbacks. */
export const SYSTEM_ACTOR: AuditActor = Object.freeze({ id: 'system', name: 'Hotplane console', roles: Object.freeze([]) });
