import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePublicKey, sm3Hex, verifySignature } from '@/server/crypto';
import { generateSm2KeyPair } from '@/server/crypto/sm2';
import { publicKeyOfPrivate, signChangeDigest } from './approval-signing';

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
