import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { sm3Hex } from './digest.ts';
import { KeyError, KeyErrorCode } from './errors.ts';
import { bigintToBytes, bytesToHex, hexToBytes } from './hex.ts';
import { formatFingerprint, parsePublicKey } from './keys.ts';
import { writePem } from './pem.ts';
import { SM2_A, SM2_B, SM2_GX, SM2_GY, SM2_P } from './sm2-curve.ts';
import { generateSm2KeyPair } from './sm2.ts';

function assertKeyError(action: () => unknown, code: KeyErrorCode, messagePattern?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KeyError, `expected KeyError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (messagePattern) assert.match(error.message, messagePattern);
    return true;
  });
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (let b = base % modulus, e = exponent; e > 0n; e >>= 1n, b = (b * b) % modulus) {
    if (e & 1n) result = (result * b) % modulus;
  }
  return result;
}

/** A curve point whose x is small enough that x + p still fits in 32 bytes (p ≡ 3 mod 4: y = rhs^((p+1)/4)). */
function pointWithSmallX(): { x: bigint; y: bigint } {
  for (let x = 1n; ; x++) {
    const rhs = (((x * x * x + SM2_A * x + SM2_B) % SM2_P) + SM2_P) % SM2_P;
    const y = modPow(rhs, (SM2_P + 1n) / 4n, SM2_P);
    if ((y * y) % SM2_P === rhs) return { x, y };
  }
}

const generatorHex = `04${bytesToHex(bigintToBytes(SM2_GX, 32))}${bytesToHex(bigintToBytes(SM2_GY, 32))}`;

describe('parsePublicKey: SM2', () => {
  const pair = generateSm2KeyPair();

  test('PEM and hex forms of one key give the same key and fingerprint', () => {
    const fromPem = parsePublicKey(pair.publicKeyPem);
    const fromHex = parsePublicKey(pair.publicKeyHex);
    assert.equal(fromPem.algorithm, 'sm2');
    assert.equal(fromPem.rawHex, pair.publicKeyHex);
    assert.equal(fromPem.fingerprint, fromHex.fingerprint);
    assert.deepEqual(fromPem.spkiDer, fromHex.spkiDer);
    assert.equal(fromHex.pem, pair.publicKeyPem);
  });

  test('fingerprint is SM3 over the DER SubjectPublicKeyInfo', () => {
    const key = parsePublicKey(pair.publicKeyHex);
    assert.equal(key.fingerprint, sm3Hex(key.spkiDer));
    assert.equal(key.spkiDer.length, 91);
  });

  test('hex tolerates upper case, whitespace and colons (openssl -text layout)', () => {
    const colons = pair.publicKeyHex.toUpperCase().match(/../g)!.join(':');
    const wrapped = colons.replace(/(.{45})/g, '$1\n    ');
    assert.equal(parsePublicKey(`  ${wrapped}\n`).fingerprint, parsePublicKey(pair.publicKeyHex).fingerprint);
  });

  test('the curve generator is a valid point (control for the curve check)', () => {
    assert.equal(parsePublicKey(generatorHex).rawHex, generatorHex);
  });

  test('a point not on the curve is rejected, as hex and as PEM', () => {
    const offCurve = `${generatorHex.slice(0, -1)}${generatorHex.endsWith('0') ? '1' : '0'}`;
    assertKeyError(() => parsePublicKey(offCurve), KeyErrorCode.POINT_NOT_ON_CURVE, /not a point on the SM2 curve/);
    const spki = hexToBytes(bytesToHex(parsePublicKey(generatorHex).spkiDer).slice(0, -2) + offCurve.slice(-2));
    assertKeyError(() => parsePublicKey(writePem('PUBLIC KEY', spki)), KeyErrorCode.POINT_NOT_ON_CURVE);
  });

  test('coordinates ≥ p are rejected even when congruent to a curve point', () => {
    const { x, y } = pointWithSmallX();
    const pointHex = (px: bigint) => `04${bytesToHex(bigintToBytes(px, 32))}${bytesToHex(bigintToBytes(y, 32))}`;
    assert.equal(parsePublicKey(pointHex(x)).algorithm, 'sm2');
    assertKeyError(() => parsePublicKey(pointHex(x + SM2_P)), KeyErrorCode.POINT_NOT_ON_CURVE);
  });

  test('wrong lengths, compressed points and a missing 04 prefix are rejected with what to give', () => {
    assertKeyError(() => parsePublicKey(pair.publicKeyHex.slice(0, -2)), KeyErrorCode.HEX_WRONG_LENGTH, /130 hex digits/);
    assertKeyError(() => parsePublicKey(`${pair.publicKeyHex}00`), KeyErrorCode.HEX_WRONG_LENGTH);
    assertKeyError(() => parsePublicKey(pair.publicKeyHex.slice(0, -1)), KeyErrorCode.HEX_WRONG_LENGTH, /odd/);
    assertKeyError(() => parsePublicKey(`02${pair.publicKeyHex.slice(2, 66)}`), KeyErrorCode.POINT_NOT_UNCOMPRESSED, /04‖x‖y/);
    assertKeyError(() => parsePublicKey(generatorHex.slice(2)), KeyErrorCode.HEX_WRONG_LENGTH, /prefix it with 04/);
  });

  test('garbage, empty input and private keys are rejected', () => {
    assertKeyError(() => parsePublicKey(''), KeyErrorCode.EMPTY);
    assertKeyError(() => parsePublicKey('not a key'), KeyErrorCode.UNRECOGNISED_FORMAT, /PEM "PUBLIC KEY"/);
    assertKeyError(() => parsePublicKey(pair.privateKeyPem), KeyErrorCode.PRIVATE_KEY_GIVEN, /pubout/);
    assertKeyError(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----'), KeyErrorCode.PEM_MALFORMED);
    assertKeyError(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nMAA='), KeyErrorCode.PEM_MALFORMED);
    assertKeyError(() => parsePublicKey(`${pair.publicKeyPem}${pair.publicKeyPem}`), KeyErrorCode.PEM_MALFORMED, /exactly one/);
    assertKeyError(() => parsePublicKey(writePem('CERTIFICATE', Uint8Array.of(0x30, 0))), KeyErrorCode.UNRECOGNISED_FORMAT);
  });

  test('DER with trailing bytes inside the PEM is rejected', () => {
    const spki = parsePublicKey(pair.publicKeyHex).spkiDer;
    assertKeyError(() => parsePublicKey(writePem('PUBLIC KEY', Buffer.concat([spki, Buffer.of(0)]))), KeyErrorCode.DER_MALFORMED);
  });
});

describe('parsePublicKey: Ed25519 and ECDSA P-256', () => {
  test('Ed25519 PEM', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    const key = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    assert.equal(key.algorithm, 'ed25519');
    assert.equal(key.rawHex, undefined);
    assert.deepEqual(key.spkiDer, der);
    assert.equal(key.fingerprint, sm3Hex(der));
  });

  test('P-256 PEM', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    assert.equal(key.algorithm, 'ecdsa-p256');
    assert.equal(key.fingerprint, sm3Hex(publicKey.export({ format: 'der', type: 'spki' })));
  });

  test('other curves and algorithms are rejected by name', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assertKeyError(() => parsePublicKey(p384), KeyErrorCode.UNSUPPORTED_CURVE, /secp384r1/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assertKeyError(() => parsePublicKey(rsa), KeyErrorCode.UNSUPPORTED_ALGORITHM, /rsa.*SM2, Ed25519 and ECDSA P-256/);
  });
});

describe('formatFingerprint', () => {
  test('16 groups of four upper-case hex digits', () => {
    const fingerprint = sm3Hex('abc');
    assert.equal(formatFingerprint(fingerprint), '66C7 F0F4 62EE EDD9 D1F2 D46B DC10 E4E2 4167 C487 5CF2 F7A2 297D A02B 8F4B A8E0');
    assert.throws(() => formatFingerprint('abc'), TypeError);
  });
});
