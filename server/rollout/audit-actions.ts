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
    /** The rollback window ended: the previous stable was unloaded. */
    'rollout.previous_retired': true;
    'rollout.evidence_sealed': true;
    /** A one-click rollback of a module no change request was carrying. */
    'module.rolled_back': true;
    'review.acknowledged': true;
    'breaker.opened': true;
    'breaker.overridden': true;
    'signingkey.registered': true;
    'signingkey.revoked': true;
    'webhook.created': true;
    'webhook.deleted': true;
  }
}

export {};
