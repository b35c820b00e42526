import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DerTag, contextTag, derBitString, derElement, derInteger, derOctetString, derOid, derSequence } from './asn1.ts';
import { KeyError, KeyErrorCode } from './errors.ts';
import { bigintToBytes, bytesToHex, hexToBytes } from './hex.ts';
import { readPem, writePem } from './pem.ts';
import { SM2_N } from './sm2-curve.ts';
import { OID_SM2_CURVE } from './sm2-keys.ts';
import { generateSm2KeyPair, signSm2, sm2PublicKeyFromPrivate, verifySm2 } from './sm2.ts';
import { decodeScalarPairSignature } from './signature-encoding.ts';

const message = new TextEncoder().encode('{"schema":"hotplane.manifest/v1"}\n');

function assertKeyError(action: () => unknown, code: KeyErrorCode, messagePattern?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KeyError, `expected KeyError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (messagePattern) assert.match(error.message, messagePattern);
    return true;
  });
}

function sec1(privateKeyHex: string, publicKeyHex: string, curveOid = OID_SM2_CURVE): Uint8Array {
  return derSequence(
    derInteger(1n),
    derOctetString(hexToBytes(privateKeyHex)),
    derElement(contextTag(0), derOid(curveOid)),
    derElement(contextTag(1), derBitString(hexToBytes(publicKeyHex))),
  );
}

function rawOf(derSignature: Uint8Array): Uint8Array {
  return decodeScalarPairSignature(derSignature, { algorithmName: 'SM2', order: SM2_N, scalarLength: 32 }).raw;
}

describe('generateSm2KeyPair', () => {
  test('hex and PEM forms describe one key', () => {
    const pair = generateSm2KeyPair();
    assert.match(pair.privateKeyHex, /^[0-9a-f]{64}$/);
    assert.match(pair.publicKeyHex, /^04[0-9a-f]{128}$/);
    assert.equal(sm2PublicKeyFromPrivate(pair.privateKeyHex), pair.publicKeyHex);
    assert.equal(sm2PublicKeyFromPrivate(pair.privateKeyPem), pair.publicKeyHex);
    assert.equal(readPem(pair.privateKeyPem).label, 'PRIVATE KEY');
    assert.equal(readPem(pair.publicKeyPem).label, 'PUBLIC KEY');
  });

  test('keys differ between calls', () => {
    assert.notEqual(generateSm2KeyPair().privateKeyHex, generateSm2KeyPair().privateKeyHex);
  });
});

describe('signSm2 / verifySm2', () => {
  const pair = generateSm2KeyPair();
  const point = hexToBytes(pair.publicKeyHex);

  test('round trip; each signature is fresh (random k)', () => {
    const first = signSm2(message, pair.privateKeyPem);
    const second = signSm2(message, pair.privateKeyHex);
    assert.equal(first[0], DerTag.SEQUENCE);
    assert.notDeepEqual(first, second);
    assert.ok(verifySm2(message, rawOf(first), point));
    assert.ok(verifySm2(message, rawOf(second), point));
  });

  test('a flipped message byte, another key or a changed s fails', () => {
    const raw = rawOf(signSm2(message, pair.privateKeyHex));
    const flipped = message.slice();
    flipped[5] ^= 0x01;
    assert.equal(verifySm2(flipped, raw, point), false);
    assert.equal(verifySm2(message, raw, hexToBytes(generateSm2KeyPair().publicKeyHex)), false);
    const changed = raw.slice();
    changed[63] ^= 0x01;
    assert.equal(verifySm2(message, changed, point), false);
  });

  test('the message must be bytes, never a string', () => {
    assert.throws(() => signSm2('text' as unknown as Uint8Array, pair.privateKeyHex), TypeError);
  });

  test('SEC1 keys under both labels OpenSSL and others use', () => {
    const der = sec1(pair.privateKeyHex, pair.publicKeyHex);
    for (const label of ['EC PRIVATE KEY', 'SM2 PRIVATE KEY']) {
      const raw = rawOf(signSm2(message, writePem(label, der)));
      assert.ok(verifySm2(message, raw, point), label);
    }
  });

  test('hex private key tolerates whitespace, colons and upper case', () => {
    const spaced = pair.privateKeyHex.toUpperCase().match(/../g)!.join(':');
    assert.equal(sm2PublicKeyFromPrivate(` ${spaced}\n`), pair.publicKeyHex);
  });
});

describe('SM2 private key input errors', () => {
  const pair = generateSm2KeyPair();

  test('embedded public key that does not match the private key', () => {
    const other = generateSm2KeyPair();
    const spliced = writePem('EC PRIVATE KEY', sec1(pair.privateKeyHex, other.publicKeyHex));
    assertKeyError(() => signSm2(message, spliced), KeyErrorCode.PRIVATE_KEY_MISMATCH);
  });

  test('a key on another curve', () => {
    const p256 = writePem('EC PRIVATE KEY', sec1(pair.privateKeyHex, pair.publicKeyHex, '1.2.840.10045.3.1.7'));
    assertKeyError(() => signSm2(message, p256), KeyErrorCode.UNSUPPORTED_CURVE, /prime256v1.*genpkey -algorithm SM2/);
  });

  test('out of range: 0, n − 1', () => {
    assertKeyError(() => signSm2(message, '0'.repeat(64)), KeyErrorCode.PRIVATE_KEY_OUT_OF_RANGE);
    assertKeyError(() => signSm2(message, bytesToHex(bigintToBytes(SM2_N - 1n, 32))), KeyErrorCode.PRIVATE_KEY_OUT_OF_RANGE);
  });

  test('wrong hex length, garbage, public key, encrypted key, empty', () => {
    assertKeyError(() => signSm2(message, pair.privateKeyHex.slice(2)), KeyErrorCode.HEX_WRONG_LENGTH, /exactly 64/);
    assertKeyError(() => signSm2(message, 'password'), KeyErrorCode.UNRECOGNISED_FORMAT);
    assertKeyError(() => signSm2(message, pair.publicKeyPem), KeyErrorCode.PUBLIC_KEY_GIVEN);
    assertKeyError(() => signSm2(message, writePem('ENCRYPTED PRIVATE KEY', derSequence())), KeyErrorCode.ENCRYPTED_PRIVATE_KEY, /openssl pkey/);
    assertKeyError(() => signSm2(message, '  '), KeyErrorCode.EMPTY);
  });

  test('truncated PKCS#8 DER', () => {
    const der = readPem(pair.privateKeyPem).der;
    assertKeyError(() => signSm2(message, writePem('PRIVATE KEY', der.subarray(0, der.length - 3))), KeyErrorCode.DER_MALFORMED);
  });
});
