// The hash chain: how one audit event becomes the bytes its SM3 hash is taken over. docs/audit.md states
// the same encoding for auditors; a change here is a new format version, never an edit of v1.
import { sm3Hex } from '../crypto/digest';
import { canonicalJson, isJsonObject, type JsonObject } from './canonical-json';

export const AUDIT_EVENT_FORMAT = 'hotplane.audit-event/v1';
export const GENESIS_PREV_HASH = '0'.repeat(64);
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** An event exactly as the AuditEvent table stores it: roles and details are canonical JSON text. */
export interface AuditEventRow {
  seq: number;
  time: string;
  actorId: string;
  actorName: string;
  actorRoles: string;
  actorKeyFp: string;
  action: string;
  targetType: string;
  targetId: string;
  details: string;
  prevHash: string;
  hash: string;
}

/** Every field the event hash covers, with roles and details as JSON values. */
export interface AuditEventContent {
  seq: number;
  time: string;
  actorId: string;
  actorName: string;
  actorRoles: string[];
  actorKeyFp: string;
  action: string;
  targetType: string;
  targetId: string;
  details: JsonObject;
  prevHash: string;
}

/** The canonical text an event hash is computed over: the eleven content fields as one JCS object. */
export function canonicalEventText(content: AuditEventContent): string {
  return canonicalJson({
    seq: content.seq,
    time: content.time,
    actorId: content.actorId,
    actorName: content.actorName,
    actorRoles: content.actorRoles,
    actorKeyFp: content.actorKeyFp,
    action: content.action,
    targetType: content.targetType,
    targetId: content.targetId,
    details: content.details,
    prevHash: content.prevHash,
  });
}

/** SM3 (lower-case hex) over the UTF-8 bytes of the canonical event text. */
export function hashAuditEvent(content: AuditEventContent): string {
  return sm3Hex(canonicalEventText(content));
}

export function isAuditHash(text: string): boolean {
  return HASH_PATTERN.test(text);
}

export type ReadEventResult = { ok: true; content: AuditEventContent } | { ok: false; message: string };

// Stored JSON must be the canonical text itself: an edit that only re-formats it would not change the hash,
// and an audit record should not be able to change at all without the verifier saying so.
function readCanonical(text: string, field: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: `${field} is not JSON` };
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch (error) {
    return { ok: false, message: `${field}: ${(error as Error).message}` };
  }
  if (canonical !== text) return { ok: false, message: `${field} is not in canonical form` };
  return { ok: true, value };
}

/** The content of a stored row, or why it cannot be read back into the form its hash was computed over. */
export function readEventRow(row: AuditEventRow): ReadEventResult {
  if (!Number.isSafeInteger(row.seq)) return { ok: false, message: `seq ${String(row.seq)} is not an integer` };
  for (const field of ['time', 'actorId', 'actorName', 'actorKeyFp', 'action', 'targetType', 'targetId', 'prevHash', 'hash'] as const) {
    if (typeof row[field] !== 'string') return { ok: false, message: `${field} is not a string` };
  }
  const roles = readCanonical(row.actorRoles, 'actorRoles');
  if (!roles.ok) return roles;
  if (!Array.isArray(roles.value) || !roles.value.every((role) => typeof role === 'string')) {
    return { ok: false, message: 'actorRoles is not an array of strings' };
  }
  const details = readCanonical(row.details, 'details');
  if (!details.ok) return details;
  if (!isJsonObject(details.value)) return { ok: false, message: 'details is not a JSON object' };
  return {
    ok: true,
    content: {
      seq: row.seq,
      time: row.time,
      actorId: row.actorId,
      actorName: row.actorName,
      actorRoles: roles.value as string[],
      actorKeyFp: row.actorKeyFp,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      details: details.value,
      prevHash: row.prevHash,
    },
  };
}

/** The row to store for new content: its JSON fields in canonical text and its hash. */
export function rowOf(content: AuditEventContent): AuditEventRow {
  return {
    ...content,
    actorRoles: canonicalJson(content.actorRoles),
    details: canonicalJson(content.details),
    hash: hashAuditEvent(content),
  };
}
