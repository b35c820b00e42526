// The rollout's audit actions beyond those server/audit/append.ts lists, added by declaration merging.
declare module '../audit/append' {
  interface ExtraAuditActions {
    'change.rejected': true;
    /** Approvals ran out (expired) before the rollout started; the request waits for approvers again. */
    'change.approvals_lapsed': true;
    'rollout.started': true;
    /** Every online host applied a step's weights. */
    'rollout.step_confirmed': true;
    'rollout.step_passed': true;
    /** A wave's zones passed every step: the next wave's zones start at the first step. */
    'rollout.wave_passed': true;
    /** The rollback window ended: the previous stable was unloaded. */
    'rollout.previous_retired': true;
    'rollout.evidence_sealed': true;
    /** A one-click rollback of a module no change request was carrying (before break-glass was limited; kept for old trails). */
    'module.rolled_back': true;
    /** A break-glass opened a post-incident review with a deadline. */
    'review.opened': true;
    /** A break-glass asked for something other than the last promoted stable (or 0 % canary): refused. */
    'breakglass.refused': true;
    /** An open review passed its deadline: escalated once (webhook review-overdue). */
    'review.overdue': true;
    'review.acknowledged': true;
    /** The person who rolled back tried to acknowledge their own review: refused. */
    'review.acknowledge_refused': true;
    'breaker.opened': true;
    'breaker.overridden': true;
    'signingkey.registered': true;
    'signingkey.revoked': true;
    'webhook.created': true;
    'webhook.deleted': true;
    /** An admin sent a `test` event to one webhook through the real outbox. */
    'webhook.test_sent': true;
  }
}

export {};
