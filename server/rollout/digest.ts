import { canonicalJson } from '../audit/canonical-json';
import { sm3Hex } from '../crypto/digest';
import type { RolloutPlan } from './change-request.types';

// What an approver signs. The request id and revision are inside, so a signature can never be replayed on
// another request nor survive an edit; versions are named with their SM3, so the bytes approved are the bytes
// loaded. Any RFC 8785 implementation and SM3 reproduce the digest (docs/rollouts.md).

export const CHANGE_DIGEST_SCHEMA = 'hotplane.change-request/v1';

export interface DigestSubject {
  id: string;
  revision: number;
  module: string;
  fromVersion: string;
  fromSm3: string;
  toVersion: string;
  toSm3: string;
  plan: RolloutPlan;
}

export function changeDigestDocument(subject: DigestSubject) {
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
