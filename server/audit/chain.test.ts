import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, CanonicalJsonError } from './canonical-json';
import { canonicalEventText, GENESIS_PREV_HASH, hashAuditEvent, readEventRow, rowOf, type AuditEventContent } from './chain';

const CONTENT: AuditEventContent = {
  seq: 1,
  time: '2026-11-22T08:00:00.000Z',
  actorId: 'u-1',
  actorName: 'ops@example.cn',
  actorRoles: ['approver', 'operator'],
  actorKeyFp: '',
  action: 'artifact.accepted',
  targetType: 'artifact',
  targetId: 'ledger@1.2.0',
  details: { size: 15872, module: 'ledger', checks: ['digest', 'signature'], note: '审计 "ok"\n' },
  prevHash: GENESIS_PREV_HASH,
};

describe('canonical JSON', () => {
  test('sorts keys at every depth, drops undefined properties and adds no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' }, z: undefined }), '{"a":{"c":"x","d":[true,null]},"b":1}');
  });

  test('orders keys by UTF-16 code units, as RFC 8785 does', () => {
    assert.equal(canonicalJson({ é: 1, z: 2, Z: 3, '\u{1F600}': 4, '\uFB01': 5 }), '{"Z":3,"z":2,"é":1,"😀":4,"ﬁ":5}');
  });

  test('escapes only what JSON requires', () => {
    assert.equal(canonicalJson({ s: 'line\nquote" tab\t 审计 \u0001' }), '{"s":"line\\nquote\\" tab\\t 审计 \\u0001"}');
  });

  test('refuses values JSON cannot carry exactly', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), CanonicalJsonError);
    assert.throws(() => canonicalJson({ when: new Date(0) }), /\$\.when: a Date is not plain JSON/);
    assert.throws(() => canonicalJson({ big: 1n }), CanonicalJsonError);
    assert.throws(() => canonicalJson([undefined]), /undefined inside an array/);
  });
});

describe('event hash', () => {
  // Recomputed outside Hotplane: printf '%s' '<text>' | openssl dgst -sm3
  test('matches the documented encoding and a hash computed with openssl', () => {
    assert.equal(
      canonicalEventText(CONTENT),
      '{"action":"artifact.accepted","actorId":"u-1","actorKeyFp":"","actorName":"ops@example.cn","actorRoles":["approver","operator"],' +
        '"details":{"checks":["digest","signature"],"module":"ledger","note":"审计 \\"ok\\"\\n","size":15872},' +
        '"prevHash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"targetId":"ledger@1.2.0",' +
        '"targetType":"artifact","time":"2026-11-22T08:00:00.000Z"}',
    );
    assert.equal(hashAuditEvent(CONTENT), '8730c0fcc47fc753b6d2f08894cfcbdac9ea2002e4f8296a8138ca55fa0fcdb9');
  });

  test('a stored row reads back to the content it was hashed from', () => {
    const row = rowOf(CONTENT);
    const read = readEventRow(row);
    assert.ok(read.ok);
    assert.deepEqual(read.content, CONTENT);
    assert.equal(hashAuditEvent(read.content), row.hash);
  });

  test('stored JSON that is re-formatted, not JSON or of the wrong shape is unreadable', () => {
    const row = rowOf(CONTENT);
    assert.deepEqual(readEventRow({ ...row, details: '{ "size": 1 }' }), { ok: false, message: 'details is not in canonical form' });
    assert.deepEqual(readEventRow({ ...row, details: '{' }), { ok: false, message: 'details is not JSON' });
    assert.deepEqual(readEventRow({ ...row, details: '[]' }), { ok: false, message: 'details is not a JSON object' });
    assert.deepEqual(readEventRow({ ...row, actorRoles: '[1]' }), { ok: false, message: 'actorRoles is not an array of strings' });
  });
});
