// The cluster's audit actions, added to server/audit/append.ts's list by declaration merging.
declare module '../audit/append' {
  interface ExtraAuditActions {
    /** A replica took the rollout engine's lease; details carry the replica id, the new epoch and the one it replaced. */
    'cluster.leader_elected': true;
    /** A replica let its lease go on the way out, so another takes over at once instead of after the expiry. */
    'cluster.leader_resigned': true;
  }
}

export {};
