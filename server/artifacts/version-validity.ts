import { parseManifest } from './manifest';

// The one answer to "may this version run?", asked wherever a version is proposed, started, pinned or chosen as a
// rollback target. Upload checks the signer and expiry once; this re-asks at each later step, because a signer
// can be revoked and a manifest can expire after the upload was accepted.

/** Statuses of a version that is withdrawn for good: never served, never counted for "semver must rise". */
export const WITHDRAWN_STATUSES = ['revoked', 'signer-revoked'] as const;

export function isWithdrawn(status: string): boolean {
  return (WITHDRAWN_STATUSES as readonly string[]).includes(status);
}

export interface VersionValidityFacts {
  moduleName: string;
  version: string;
  status: string;
  revokedReason: string | null;
  manifestText: string;
  signer: { name: string; notBefore: Date; notAfter: Date; revokedAt: Date | null; revocationReason: string | null };
}

/** Why this version may not be proposed, started, pinned or rolled back to now; null when it may. */
export function versionRefusal(v: VersionValidityFacts, now: Date = new Date()): string | null {
  const label = `${v.moduleName} ${v.version}`;
  if (v.status === 'revoked') return `${label} is revoked (${v.revokedReason ?? 'no reason given'}) and can never be served`;
  if (v.status === 'signer-revoked' || v.signer.revokedAt) {
    const when = v.signer.revokedAt ? ` at ${v.signer.revokedAt.toISOString()}` : '';
    return `${label} is signer-revoked: its signer "${v.signer.name}" was revoked${when} (${v.signer.revocationReason ?? v.revokedReason ?? 'no reason given'}); have a current signer sign a new version`;
  }
  if (v.status !== 'accepted') return `${label} is ${v.status}, not accepted`;
  const parsed = parseManifest(Buffer.from(v.manifestText, 'utf8'));
  if (!parsed.ok) return `${label}'s stored manifest no longer reads as valid (${parsed.message}); upload a newly signed version`;
  const created = new Date(parsed.manifest.created);
  if (created < v.signer.notBefore || created > v.signer.notAfter) {
    return `${label} was signed at ${parsed.manifest.created}, outside its signer "${v.signer.name}"'s validity (${v.signer.notBefore.toISOString()} to ${v.signer.notAfter.toISOString()}); have a valid signer sign it again`;
  }
  if (Date.parse(parsed.manifest.expires) <= now.getTime()) {
    return `${label}'s manifest expired at ${parsed.manifest.expires}; have it re-signed with a later expiry and upload it as a new version`;
  }
  return null;
}
