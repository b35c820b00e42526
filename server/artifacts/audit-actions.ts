// The artifact store's audit actions beyond those server/audit/append.ts lists, added by declaration merging.
declare module '../audit/append' {
  interface ExtraAuditActions {
    /** A version withdrawn because its signer was revoked (one event per version, in the revocation's transaction). */
    'artifact.signer_revoked': true;
    /** An upload that lost a race for the same artifact or the same module version (answered 409). */
    'artifact.conflict': true;
  }
}

export {};
