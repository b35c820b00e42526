// The fleet's audit actions, added to server/audit/append.ts's list by declaration merging.
declare module '../audit/append' {
  interface ExtraAuditActions {
    /** An operator (or the rollout engine) changed one module's desired versions; details carry before and after. */
    'runtime.desired_changed': true;
    /** The console moved a version that crashed its host into its own process cell. */
    'runtime.version_isolated': true;
    'runtime.demo_traffic_changed': true;
    'host.revoked': true;
    /** An admin created a one-time join token for a host (docs/fleet.md#host-identity). */
    'host.join_token_created': true;
    /** A host enrolled with its join token and got its first client certificate; details carry the serial. */
    'host.enrolled': true;
    /** An enrolment refused: unknown, reused or expired join token (details say which). */
    'host.enrolment_refused': true;
    'host.certificate_renewed': true;
    /** A TLS connection with a revoked or unknown host's certificate, cut at the fleet listener. */
    'host.connection_refused': true;
    /** An admin moved a host to another zone or group. */
    'host.zone_changed': true;
    'host.process_crashed': true;
    'host.version_crashed': true;
    'host.version_failed': true;
    'host.drain_timeout': true;
    'host.version_resident': true;
    'host.state_handed_off': true;
    /** A host's report refused whole (a cap broken, a revoked host); details name the cap (server/fleet/report-bounds.ts). */
    'host.report_refused': true;
    /** A host told of a break-glass its admin made while the console was down; the console adopted it (break-glass-intake.ts). */
    'host.break_glass_adopted': true;
    /** A host's break-glass the console would not adopt: replayed, stale, or not to the last promoted stable of a module it serves. */
    'host.break_glass_refused': true;
    /** A host loaded a version (path, SHA-256 of the verified bytes, signer serial, result) or refused to. */
    'host.version_loaded': true;
    'host.version_unloaded': true;
    /** Parts of a host's report about versions the fleet was not told to run, left out. */
    'host.report_items_ignored': true;
  }
}

export {};
