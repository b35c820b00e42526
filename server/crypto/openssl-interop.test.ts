// Interoperability with the OpenSSL CLI (3.0+), the tool signers are told to use (docs/signing.md).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignatureErrorCode, digestArtifactFile, parsePublicKey, verifySignature } from './index.ts';
import { SM2_N } from './sm2-curve.ts';
import { generateSm2KeyPair, signSm2, sm2PublicKeyFromPrivate } from './sm2.ts';
import { decodeScalarPairSignature } from './signature-encoding.ts';

const DISTID = 'distid:1234567812345678';
let dir = '';
const path = (name: string) => join(dir, name);

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function opensslVerifies(publicKeyFile: string, messageFile: string, signatureFile: string, withDistid = true): boolean {
  const args = ['pkeyutl', '-verify', '-rawin', '-digest', 'sm3', ...(withDistid ? ['-pkeyopt', DISTID] : [])];
  const result = spawnSync('openssl', [...args, '-pubin', '-inkey', publicKeyFile, '-in', messageFile, '-sigfile', signatureFile], {
    cwd: dir,
    encoding: 'utf8',
  });
  return result.status === 0 && result.stdout.includes('Signature Verified Successfully');
}

const manifest = Buffer.from(
  `${JSON.stringify({ schema: 'hotplane.manifest/v1', module: 'ledger', version: '1.2.0', abi: 1, arch: 'x86_64' }, null, 2)}\n`,
);

before(() => {
  const version = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, 'the openssl CLI is required for the interop tests (apt-get install openssl)');
  dir = mkdtempSync(join(tmpdir(), 'hotplane-openssl-'));
  writeFileSync(path('manifest.json'), manifest);
  openssl('genpkey', '-algorithm', 'SM2', '-out', 'key.pem');
  openssl('pkey', '-in', 'key.pem', '-pubout', '-out', 'pub.pem');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('OpenSSL signs, Hotplane verifies', () => {
  test('a signature made with the GM/T user ID is accepted as DER, raw, binary and hex', () => {
    openssl('pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-inkey', 'key.pem', '-in', 'manifest.json', '-out', 'manifest.sig');
    const key = parsePublicKey(readFileSync(path('pub.pem'), 'utf8'));
    const der = readFileSync(path('manifest.sig'));
    assert.deepEqual(verifySignature({ message: manifest, signature: der, key }), { ok: true, encoding: 'der', transport: 'binary' });
    const hexText = Buffer.from(`${der.toString('hex').replace(/(.{60})/g, '$1\n')}\n`);
    assert.deepEqual(verifySignature({ message: manifest, signature: hexText, key }), { ok: true, encoding: 'der', transport: 'hex' });
    const raw = decodeScalarPairSignature(der, { algorithmName: 'SM2', order: SM2_N, scalarLength: 32 }).raw;
    assert.deepEqual(verifySignature({ message: manifest, signature: raw, key }), { ok: true, encoding: 'raw', transport: 'binary' });
    const flipped = Buffer.from(manifest);
    flipped[10] ^= 0x20;
    assert.equal(verifySignature({ message: flipped, signature: der, key }).ok, false);
  });

  test('a signature made WITHOUT the distid (empty ID) is rejected, and named as made with the empty ID', () => {
    openssl('pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-inkey', 'key.pem', '-in', 'manifest.json', '-out', 'no-id.sig');
    assert.ok(opensslVerifies('pub.pem', 'manifest.json', 'no-id.sig', false), 'control: OpenSSL accepts it with the empty ID');
    const result = verifySignature({
      message: manifest,
      signature: readFileSync(path('no-id.sig')),
      key: parsePublicKey(readFileSync(path('pub.pem'), 'utf8')),
    });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.code, SignatureErrorCode.SM2_EMPTY_USER_ID);
      assert.match(result.message, /made with an empty user ID: it verifies with the empty ID but not with 1234567812345678/);
      assert.match(result.message, /-pkeyopt distid:1234567812345678/);
    }
    const otherKey = parsePublicKey(generateSm2KeyPair().publicKeyHex);
    const stranger = verifySignature({ message: manifest, signature: readFileSync(path('no-id.sig')), key: otherKey });
    assert.equal(stranger.ok ? null : stranger.code, SignatureErrorCode.MISMATCH, 'another key is a plain mismatch, not an ID problem');
  });

  test('the key as hex (from openssl -text, with colons) has the same fingerprint as the PEM', () => {
    const text = openssl('pkey', '-pubin', '-in', 'pub.pem', '-text', '-noout');
    const pubBlock = text.slice(text.indexOf('pub:') + 4, text.indexOf('ASN1 OID'));
    const fromPem = parsePublicKey(readFileSync(path('pub.pem'), 'utf8'));
    const fromHex = parsePublicKey(pubBlock);
    assert.equal(fromHex.fingerprint, fromPem.fingerprint);
    openssl('pkey', '-pubin', '-in', 'pub.pem', '-outform', 'DER', '-out', 'pub.der');
    assert.match(openssl('dgst', '-sm3', 'pub.der'), new RegExp(`= ${fromPem.fingerprint}$`, 'm'));
  });
});

describe('Hotplane signs, OpenSSL verifies', () => {
  test('signSm2 with the OpenSSL PKCS#8 key verifies with the distid, and not without', () => {
    writeFileSync(path('ours.sig'), signSm2(manifest, readFileSync(path('key.pem'), 'utf8')));
    assert.ok(opensslVerifies('pub.pem', 'manifest.json', 'ours.sig'));
    assert.equal(opensslVerifies('pub.pem', 'manifest.json', 'ours.sig', false), false);
  });

  test('signSm2 with the SEC1 key `openssl ec` writes', () => {
    openssl('ec', '-in', 'key.pem', '-out', 'sec1.pem');
    const sec1 = readFileSync(path('sec1.pem'), 'utf8');
    assert.match(sec1, /BEGIN (SM2|EC) PRIVATE KEY/);
    writeFileSync(path('sec1.sig'), signSm2(manifest, sec1));
    assert.ok(opensslVerifies('pub.pem', 'manifest.json', 'sec1.sig'));
    assert.equal(sm2PublicKeyFromPrivate(sec1), parsePublicKey(readFileSync(path('pub.pem'), 'utf8')).rawHex);
  });

  test('our generated PEM keys are what OpenSSL writes and can sign with', () => {
    const pair = generateSm2KeyPair();
    writeFileSync(path('our-key.pem'), pair.privateKeyPem);
    writeFileSync(path('our-pub.pem'), pair.publicKeyPem);
    assert.equal(openssl('pkey', '-in', 'our-key.pem'), pair.privateKeyPem);
    assert.equal(openssl('pkey', '-in', 'our-key.pem', '-pubout'), pair.publicKeyPem);
    openssl('pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-inkey', 'our-key.pem', '-in', 'manifest.json', '-out', 'by-openssl.sig');
    const result = verifySignature({ message: manifest, signature: readFileSync(path('by-openssl.sig')), key: parsePublicKey(pair.publicKeyHex) });
    assert.equal(result.ok, true);
    writeFileSync(path('by-us.sig'), signSm2(manifest, pair.privateKeyPem));
    assert.ok(opensslVerifies('our-pub.pem', 'manifest.json', 'by-us.sig'));
  });
});

describe('digests agree with OpenSSL', () => {
  test('SM3 and SHA-256 of a module file', async () => {
    writeFileSync(path('module.so'), randomBytes(100_000));
    const digest = await digestArtifactFile(path('module.so'));
    assert.match(openssl('dgst', '-sm3', 'module.so'), new RegExp(`= ${digest.sm3}$`, 'm'));
    assert.match(openssl('dgst', '-sha256', 'module.so'), new RegExp(`= ${digest.sha256}$`, 'm'));
    assert.equal(statSync(path('module.so')).size, digest.size);
  });
});
