import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePublicKey, sm3Hex, verifySignature } from '@/server/crypto';
import { generateSm2KeyPair } from '@/server/crypto/sm2';
import { fingerprintOfPublicPoint, looksLikePrivateKey, publicKeyOfPrivate, signChangeDigest } from './approval-signing';

test('a digest signed in the browser verifies against the registered public key, as the server checks it', () => {
  const pair = generateSm2KeyPair();
  const digest = sm3Hex('{"id":"cr-1"}');
  for (const privateKey of [pair.privateKeyPem, pair.privateKeyHex, `\n${pair.privateKeyPem}\n`]) {
    const signature = signChangeDigest(digest, privateKey);
    const verdict = verifySignature({ message: Buffer.from(digest, 'hex'), signature: Buffer.from(signature, 'hex'), key: parsePublicKey(pair.publicKeyPem) });
    assert.equal(verdict.ok, true);
  }
});

test('the public key of a pasted private key is derived locally, and garbage is refused', () => {
  const pair = generateSm2KeyPair();
  assert.equal(publicKeyOfPrivate(pair.privateKeyPem), pair.publicKeyHex);
  assert.throws(() => publicKeyOfPrivate('not a key'));
});

test('a private key pasted where the public key belongs is recognised, in any of its forms, and a public key is not', () => {
  const pair = generateSm2KeyPair();
  for (const text of [pair.privateKeyPem, pair.privateKeyHex, ` ${pair.privateKeyHex}\n`, '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----']) {
    assert.equal(looksLikePrivateKey(text), true, text);
  }
  for (const text of [pair.publicKeyPem, pair.publicKeyHex, 'not a key']) assert.equal(looksLikePrivateKey(text), false, text);
});

test("a loaded private key is named by the fingerprint the console shows for the registered public key, and only by its own", () => {
  const pair = generateSm2KeyPair();
  const other = generateSm2KeyPair();
  const registered = parsePublicKey(pair.publicKeyPem).fingerprint;
  assert.equal(fingerprintOfPublicPoint(publicKeyOfPrivate(pair.privateKeyPem)), registered);
  assert.notEqual(fingerprintOfPublicPoint(publicKeyOfPrivate(other.privateKeyPem)), registered);
});
