import { canonicalJson } from '../audit/canonical-json';
import { sm3Hex } from '../crypto/digest';
import type { RolloutPlan } from './change-request.types';

// What an approver signs. The request id and revision are inside, so a signature can never be replayed on
// another request nor survive an edit; versions are named with their SM3, so the bytes approved are the bytes
// loaded. Any RFC 8785 implementation and SM3 reproduce the digest (docs/rollouts.md).

export const CHANGE_DIGEST_SCHEMA = 'hotplane.change-request/v1';
/** First versions, settings changes and removals: the whole desired state before and after is signed. */
export const WHOLE_CHANGE_DIGEST_SCHEMA = 'hotplane.change-request/v2';

export interface DigestSubject {
  id: string;
  revision: number;
  module: string;
  fromVersion: string;
  fromSm3: string;
  toVersion: string;
  toSm3: string;
  plan: RolloutPlan;
  /** Absent or 'upgrade': the v1 document, unchanged, so approvals given before v2 existed still verify. */
  kind?: string;
  /** JSON DesiredModule or null, as stored on the request (kinds other than upgrade). */
  desiredBefore?: string | null;
  desiredAfter?: string | null;
}

const parsed = (json: string | null | undefined): unknown => (json ? JSON.parse(json) : null);

export function changeDigestDocument(subject: DigestSubject) {
  if (subject.kind && subject.kind !== 'upgrade') {
    return {
      schema: WHOLE_CHANGE_DIGEST_SCHEMA,
      id: subject.id,
      revision: subject.revision,
      module: subject.module,
      kind: subject.kind,
      before: parsed(subject.desiredBefore),
      after: parsed(subject.desiredAfter),
    };
  }
  return {
    schema: CHANGE_DIGEST_SCHEMA,
    id: subject.id,
    revision: subject.revision,
    module: subject.module,
    from: { version: subject.fromVersion, sm3: subject.fromSm3 },
    to: { version: subject.toVersion, sm3: subject.toSm3 },
    plan: subject.plan,
  };
}

/** The canonical text hashed: shown to approvers so they can read what they sign. */
export function changeDigestText(subject: DigestSubject): string {
  return canonicalJson(changeDigestDocument(subject));
}

/** Lower-case hex SM3 of the canonical text. */
export function changeDigest(subject: DigestSubject): string {
  return sm3Hex(changeDigestText(subject));
}

/** The message an approval signature covers: the 32 bytes of the digest. */
export function approvalMessage(digest: string): Uint8Array {
  return Buffer.from(digest, 'hex');
}
