import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { derInteger, derSequence } from './asn1.ts';
import { SignatureError, SignatureErrorCode } from './errors.ts';
import { bigintToBytes, bytesToHex, concatBytes } from './hex.ts';
import { decodeFixedLengthSignature, decodeScalarPairSignature } from './signature-encoding.ts';
import { SM2_N } from './sm2-curve.ts';

const rules = { algorithmName: 'SM2', order: SM2_N, scalarLength: 32 };
const decode = (file: Uint8Array) => decodeScalarPairSignature(file, rules);
const ascii = (text: string) => new TextEncoder().encode(text);

// High bits set in both, so DER needs a 0x00 sign byte: the common 72-byte OpenSSL shape.
const r = 0xc1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80n;
const s = 0x8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0n;
const raw = concatBytes(bigintToBytes(r, 32), bigintToBytes(s, 32));
const der = derSequence(derInteger(r), derInteger(s));

function assertSignatureError(action: () => unknown, code: SignatureErrorCode, messagePattern?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof SignatureError, `expected SignatureError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (messagePattern) assert.match(error.message, messagePattern);
    return true;
  });
}

describe('decodeScalarPairSignature: accepted forms', () => {
  test('DER binary', () => {
    assert.equal(der.length, 72);
    assert.deepEqual(decode(der), { transport: 'binary', encoding: 'der', raw });
  });

  test('raw binary', () => {
    assert.deepEqual(decode(raw), { transport: 'binary', encoding: 'raw', raw });
  });

  test('DER and raw as hex text, any case, with whitespace and line breaks', () => {
    assert.deepEqual(decode(ascii(`${bytesToHex(der)}\n`)), { transport: 'hex', encoding: 'der', raw });
    const wrapped = bytesToHex(raw).toUpperCase().replace(/(.{60})/g, '$1\n');
    assert.deepEqual(decode(ascii(`  ${wrapped}\r\n`)), { transport: 'hex', encoding: 'raw', raw });
  });

  test('short scalars: DER with small r is accepted and left-padded in raw', () => {
    const decoded = decode(derSequence(derInteger(1n), derInteger(s)));
    assert.deepEqual(decoded.raw, concatBytes(bigintToBytes(1n, 32), bigintToBytes(s, 32)));
  });

  test('a 64-byte input that is strict DER is read as DER', () => {
    const smallR = 0x7f00000000000000000000000000000000000000000000000000000000n; // 29 bytes
    const smallS = 0x7e00000000000000000000000000000000000000000000000000000000n;
    const der64 = derSequence(derInteger(smallR), derInteger(smallS));
    assert.equal(der64.length, 64);
    assert.equal(decode(der64).encoding, 'der');
  });
});

describe('decodeScalarPairSignature: hex with a 0x prefix', () => {
  test('is named as such, in either case, with or without surrounding whitespace', () => {
    for (const text of [`0x${bytesToHex(der)}`, `  0X${bytesToHex(raw).toUpperCase()}\n`]) {
      assertSignatureError(() => decode(ascii(text)), SignatureErrorCode.HEX_0X_PREFIX, /hex text with a "0x" prefix; remove the "0x"/);
    }
  });

  test('binary that happens to start with the bytes "0x" is still binary', () => {
    const binary = concatBytes(ascii('0x'), raw.subarray(2));
    assert.equal(decode(binary).transport, 'binary');
  });
});

describe('decodeScalarPairSignature: strict DER', () => {
  test('trailing bytes after the SEQUENCE', () => {
    assertSignatureError(() => decode(concatBytes(der, Uint8Array.of(0))), SignatureErrorCode.DER_TRAILING_BYTES);
    assertSignatureError(() => decode(ascii(`${bytesToHex(der)}00`)), SignatureErrorCode.DER_TRAILING_BYTES);
  });

  test('a third element inside the SEQUENCE', () => {
    assertSignatureError(() => decode(derSequence(derInteger(r), derInteger(s), derInteger(1n))), SignatureErrorCode.DER_TRAILING_BYTES);
  });

  test('non-minimal length', () => {
    const longForm = concatBytes(Uint8Array.of(0x30, 0x81, der[1]), der.subarray(2));
    assertSignatureError(() => decode(longForm), SignatureErrorCode.DER_NON_MINIMAL_LENGTH);
  });

  test('non-minimal integer (superfluous leading zero)', () => {
    const rBytes = bigintToBytes(0x1234n, 2);
    const padded = concatBytes(Uint8Array.of(0x02, 3, 0), rBytes);
    const body = concatBytes(padded, derInteger(s));
    assertSignatureError(() => decode(concatBytes(Uint8Array.of(0x30, body.length), body)), SignatureErrorCode.DER_NON_MINIMAL_INTEGER);
  });

  test('negative integer (high bit without a sign byte)', () => {
    const negative = concatBytes(Uint8Array.of(0x02, 32), bigintToBytes(r, 32));
    const body = concatBytes(negative, derInteger(s));
    assertSignatureError(() => decode(concatBytes(Uint8Array.of(0x30, body.length), body)), SignatureErrorCode.DER_NEGATIVE_INTEGER);
  });

  test('truncated, wrong tag, one INTEGER only', () => {
    assertSignatureError(() => decode(der.subarray(0, 71)), SignatureErrorCode.DER_MALFORMED);
    const body = concatBytes(derInteger(r), Uint8Array.of(0x04, 1, 5));
    assertSignatureError(() => decode(concatBytes(Uint8Array.of(0x30, body.length), body)), SignatureErrorCode.DER_MALFORMED, /s is not an INTEGER/);
    assertSignatureError(() => decode(derSequence(derInteger(r))), SignatureErrorCode.DER_MALFORMED);
  });
});

describe('decodeScalarPairSignature: scalar range', () => {
  test('r = 0 and s = 0', () => {
    assertSignatureError(() => decode(derSequence(derInteger(0n), derInteger(s))), SignatureErrorCode.SCALAR_ZERO, /r is 0/);
    assertSignatureError(() => decode(derSequence(derInteger(r), derInteger(0n))), SignatureErrorCode.SCALAR_ZERO, /s is 0/);
    assertSignatureError(() => decode(concatBytes(new Uint8Array(32), bigintToBytes(s, 32))), SignatureErrorCode.SCALAR_ZERO);
  });

  test('s ≥ n and r ≥ n, DER and raw; n − 1 accepted', () => {
    assertSignatureError(() => decode(derSequence(derInteger(r), derInteger(SM2_N))), SignatureErrorCode.SCALAR_OUT_OF_RANGE, /s is not below/);
    assertSignatureError(() => decode(derSequence(derInteger(SM2_N + 5n), derInteger(s))), SignatureErrorCode.SCALAR_OUT_OF_RANGE, /r is not below/);
    assertSignatureError(() => decode(concatBytes(bigintToBytes(r, 32), bigintToBytes(SM2_N, 32))), SignatureErrorCode.SCALAR_OUT_OF_RANGE);
    assert.equal(decode(derSequence(derInteger(SM2_N - 1n), derInteger(SM2_N - 1n))).encoding, 'der');
  });
});

describe('decodeScalarPairSignature: transport and length', () => {
  test('raw of the wrong length', () => {
    assertSignatureError(() => decode(raw.subarray(0, 63)), SignatureErrorCode.RAW_WRONG_LENGTH, /exactly 64 bytes/);
    assertSignatureError(() => decode(ascii(bytesToHex(concatBytes(raw, Uint8Array.of(7))))), SignatureErrorCode.RAW_WRONG_LENGTH, /65 bytes/);
  });

  test('empty and whitespace-only', () => {
    assertSignatureError(() => decode(new Uint8Array(0)), SignatureErrorCode.EMPTY);
    assertSignatureError(() => decode(ascii(' \n')), SignatureErrorCode.EMPTY);
  });

  test('hex with an odd number of digits', () => {
    assertSignatureError(() => decode(ascii(bytesToHex(der).slice(1))), SignatureErrorCode.HEX_ODD_LENGTH);
  });
});

describe('decodeFixedLengthSignature', () => {
  test('exact length, binary or hex; anything else refused', () => {
    assert.deepEqual(decodeFixedLengthSignature(raw, 64, 'Ed25519'), { transport: 'binary', encoding: 'raw', raw });
    assert.equal(decodeFixedLengthSignature(ascii(bytesToHex(raw)), 64, 'Ed25519').transport, 'hex');
    assertSignatureError(() => decodeFixedLengthSignature(der, 64, 'Ed25519'), SignatureErrorCode.RAW_WRONG_LENGTH, /no DER form/);
  });
});
