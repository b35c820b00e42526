import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import smCrypto from 'sm-crypto';
import { createArtifactDigester, digestArtifactFile, digestArtifactStream, sha256Hex, sm3Hex } from './digest.ts';

const SM3_ABC = '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0';
const SM3_ABCD_X16 = 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732';

function chunksOf(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

describe('sm3Hex', () => {
  test('GM/T 0004 vectors, as string and as bytes', () => {
    assert.equal(sm3Hex('abc'), SM3_ABC);
    assert.equal(sm3Hex(new TextEncoder().encode('abc')), SM3_ABC);
    assert.equal(sm3Hex('abcd'.repeat(16)), SM3_ABCD_X16);
  });

  test('node:crypto SM3 equals sm-crypto SM3 on random data of many lengths', () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 4096 + 7]) {
      const data = randomBytes(length);
      assert.equal(sm3Hex(data), smCrypto.sm3(data), `length ${length}`);
    }
  });

  test('strings are hashed as UTF-8', () => {
    assert.equal(sm3Hex('签名'), sm3Hex(Buffer.from('签名', 'utf8')));
  });
});

describe('sha256Hex', () => {
  test('FIPS 180-2 "abc" vector', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('createArtifactDigester', () => {
  test('one pass over uneven chunks equals separate whole-input digests', () => {
    const data = randomBytes(300_001);
    const digester = createArtifactDigester();
    for (const chunk of chunksOf(data, [1, 63, 64, 65, 8191, 65536])) digester.update(chunk);
    assert.deepEqual(digester.digest(), {
      sm3: smCrypto.sm3(data),
      sha256: createHash('sha256').update(data).digest('hex'),
      size: data.length,
    });
  });

  test('empty input', () => {
    assert.deepEqual(createArtifactDigester().digest(), {
      sm3: '1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      size: 0,
    });
  });

  test('refuses use after digest', () => {
    const digester = createArtifactDigester();
    digester.digest();
    assert.throws(() => digester.update(Uint8Array.of(1)), /already/);
    assert.throws(() => digester.digest(), /already/);
  });

  test('streams and files give the same digest as the bytes', async () => {
    const data = randomBytes(200_000);
    const expected = { sm3: sm3Hex(data), sha256: sha256Hex(data), size: data.length };
    assert.deepEqual(await digestArtifactStream(Readable.from(chunksOf(data, [777, 4096]))), expected);
    const dir = mkdtempSync(join(tmpdir(), 'hotplane-digest-'));
    try {
      writeFileSync(join(dir, 'module.so'), data);
      assert.deepEqual(await digestArtifactFile(join(dir, 'module.so')), expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
