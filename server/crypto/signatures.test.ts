import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { derInteger, derSequence } from './asn1.ts';
import { bytesToHex, concatBytes, hexToBytes } from './hex.ts';
import { SignatureErrorCode, parsePublicKey, registerSignatureAlgorithm, registeredSignatureAlgorithms, verifySignature } from './index.ts';
import type { ParsedPublicKey } from './keys.ts';
import { SM2_N } from './sm2-curve.ts';
import { generateSm2KeyPair, signSm2 } from './sm2.ts';
import { sm2Verifier } from './signatures.ts';
import { decodeScalarPairSignature } from './signature-encoding.ts';

const manifest = new TextEncoder().encode(
  '{ "schema": "hotplane.manifest/v1", "module": "ledger", "version": "1.2.0", "abi": 1 }\n',
);
const ascii = (text: string) => new TextEncoder().encode(text);

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] ^= 0x01;
  return copy;
}

function assertRefused(result: ReturnType<typeof verifySignature>, code: SignatureErrorCode, messagePattern?: RegExp): void {
  assert.equal(result.ok, false, 'expected the signature to be refused');
  if (result.ok) return;
  assert.equal(result.code, code, result.message);
  if (messagePattern) assert.match(result.message, messagePattern);
}

describe('verifySignature: SM2', () => {
  const pair = generateSm2KeyPair();
  const key = parsePublicKey(pair.publicKeyPem);
  const der = signSm2(manifest, pair.privateKeyPem);
  const raw = decodeScalarPairSignature(der, { algorithmName: 'SM2', order: SM2_N, scalarLength: 32 }).raw;

  test('DER and raw, binary and hex are all accepted and reported', () => {
    assert.deepEqual(verifySignature({ message: manifest, signature: der, key }), { ok: true, encoding: 'der', transport: 'binary' });
    assert.deepEqual(verifySignature({ message: manifest, signature: raw, key }), { ok: true, encoding: 'raw', transport: 'binary' });
    assert.deepEqual(verifySignature({ message: manifest, signature: ascii(`${bytesToHex(der)}\n`), key }), {
      ok: true,
      encoding: 'der',
      transport: 'hex',
    });
    assert.deepEqual(verifySignature({ message: manifest, signature: ascii(bytesToHex(raw)), key }), {
      ok: true,
      encoding: 'raw',
      transport: 'hex',
    });
  });

  test('the key given as hex verifies the same signature', () => {
    assert.equal(verifySignature({ message: manifest, signature: der, key: parsePublicKey(pair.publicKeyHex) }).ok, true);
  });

  test('a flipped message byte fails with MISMATCH and names the user ID', () => {
    for (const index of [0, 40, manifest.length - 1]) {
      assertRefused(
        verifySignature({ message: flipped(manifest, index), signature: der, key }),
        SignatureErrorCode.MISMATCH,
        /distid:1234567812345678/,
      );
    }
  });

  test('re-serialised JSON is different bytes and fails', () => {
    const reserialised = ascii(JSON.stringify(JSON.parse(new TextDecoder().decode(manifest))));
    assertRefused(verifySignature({ message: reserialised, signature: der, key }), SignatureErrorCode.MISMATCH);
  });

  test('another signer\'s key fails', () => {
    assertRefused(verifySignature({ message: manifest, signature: der, key: parsePublicKey(generateSm2KeyPair().publicKeyHex) }), SignatureErrorCode.MISMATCH);
  });

  test('encoding errors come through with their codes', () => {
    assertRefused(verifySignature({ message: manifest, signature: concatBytes(der, Uint8Array.of(0)), key }), SignatureErrorCode.DER_TRAILING_BYTES);
    const s = BigInt(`0x${bytesToHex(raw.subarray(32))}`);
    assertRefused(verifySignature({ message: manifest, signature: derSequence(derInteger(0n), derInteger(s)), key }), SignatureErrorCode.SCALAR_ZERO);
    assertRefused(verifySignature({ message: manifest, signature: derSequence(derInteger(1n), derInteger(SM2_N)), key }), SignatureErrorCode.SCALAR_OUT_OF_RANGE);
    assertRefused(verifySignature({ message: manifest, signature: raw.subarray(1), key }), SignatureErrorCode.RAW_WRONG_LENGTH);
  });

  test('a signature adding n to s (malleated) is refused as out of range', () => {
    const s = BigInt(`0x${bytesToHex(raw.subarray(32))}`);
    const r = BigInt(`0x${bytesToHex(raw.subarray(0, 32))}`);
    assertRefused(verifySignature({ message: manifest, signature: derSequence(derInteger(r), derInteger(s + SM2_N)), key }), SignatureErrorCode.SCALAR_OUT_OF_RANGE);
  });

  test('strings are refused as messages', () => {
    assert.throws(() => verifySignature({ message: 'x' as unknown as Uint8Array, signature: der, key }), TypeError);
  });
});

describe('verifySignature: Ed25519 and ECDSA P-256 through the same registry', () => {
  test('Ed25519, binary and hex; a flipped byte fails', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const key = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const signature = sign(null, manifest, privateKey);
    assert.deepEqual(verifySignature({ message: manifest, signature, key }), { ok: true, encoding: 'raw', transport: 'binary' });
    assert.deepEqual(verifySignature({ message: manifest, signature: ascii(signature.toString('hex')), key }), {
      ok: true,
      encoding: 'raw',
      transport: 'hex',
    });
    assertRefused(verifySignature({ message: flipped(manifest, 3), signature, key }), SignatureErrorCode.MISMATCH);
    assertRefused(verifySignature({ message: manifest, signature: signature.subarray(1), key }), SignatureErrorCode.RAW_WRONG_LENGTH);
  });

  test('P-256, DER and raw; a flipped byte fails', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const der = sign('sha256', manifest, privateKey);
    const raw = sign('sha256', manifest, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    assert.deepEqual(verifySignature({ message: manifest, signature: der, key }), { ok: true, encoding: 'der', transport: 'binary' });
    assert.deepEqual(verifySignature({ message: manifest, signature: raw, key }), { ok: true, encoding: 'raw', transport: 'binary' });
    assertRefused(verifySignature({ message: flipped(manifest, 7), signature: der, key }), SignatureErrorCode.MISMATCH, /SHA-256/);
  });

  test('an SM2 signature does not verify under a P-256 key', () => {
    const pair = generateSm2KeyPair();
    const key = parsePublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString());
    assertRefused(verifySignature({ message: manifest, signature: signSm2(manifest, pair.privateKeyHex), key }), SignatureErrorCode.MISMATCH);
  });
});

describe('registry', () => {
  test('all three algorithms are registered once keys.ts is loaded', () => {
    assert.deepEqual(registeredSignatureAlgorithms().sort(), ['ecdsa-p256', 'ed25519', 'sm2']);
  });

  test('an unregistered algorithm is reported, not thrown', () => {
    const key = { ...parsePublicKey(generateSm2KeyPair().publicKeyHex), algorithm: 'rsa' } as unknown as ParsedPublicKey;
    assertRefused(verifySignature({ message: manifest, signature: hexToBytes('00'), key }), SignatureErrorCode.UNSUPPORTED_ALGORITHM, /registered: /);
  });

  test('re-registering the same verifier is harmless; replacing one is refused', () => {
    registerSignatureAlgorithm(sm2Verifier);
    assert.throws(() => registerSignatureAlgorithm({ ...sm2Verifier, verify: () => true }), /already registered/);
  });
});
