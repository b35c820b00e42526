import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { generateSm2KeyPair } from '../crypto';
import { SM2_N } from '../crypto/sm2-curve';
import { revokeSigner, registerSigner } from '../signers/registry';
import { createConsoleFixture, type ArtifactPaths, type ConsoleFixture } from '../testing/console-fixture';
import type { CheckName } from './checks';
import type { UploadResult } from './upload';

const ADMIN = { id: 'test-admin', name: 'admin@test', roles: ['admin'] as const };

describe('upload pipeline: every bad input is rejected clearly, audited, and stores nothing', () => {
  let f: ConsoleFixture;
  let ledger: string;

  before(async () => {
    f = await createConsoleFixture({ HOTPLANE_MAX_UPLOAD_BYTES: String(4 * 1024 * 1024) });
    ledger = f.modulePath('ledger', '1.0.0');
  });

  async function expectRejected(result: UploadResult, check: CheckName, message: RegExp) {
    assert.equal(result.outcome, 'rejected', `expected a rejection at ${check}, got ${result.outcome}: ${result.message}`);
    const failed = result.checks.find((c) => c.status === 'fail');
    assert.equal(failed?.check, check, `first failing check: ${JSON.stringify(failed)}`);
    assert.match(result.message, message);
    const report = await f.db.verificationReport.findUniqueOrThrow({ where: { id: result.reportId } });
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.failedCheck, check);
    const events = await f.db.auditEvent.findMany({ where: { action: 'artifact.rejected' } });
    assert.ok(events.some((e) => JSON.parse(e.details).reportId === result.reportId), 'the rejection has its audit event');
    assert.deepEqual(f.storeFiles(), [], 'the store stays empty');
  }

  const signed = (so = ledger, extra: Partial<Parameters<ConsoleFixture['signedArtifact']>[0]> = {}) =>
    f.signedArtifact({ so, module: 'ledger', version: '1.0.0', ...extra });

  function withSignature(paths: ArtifactPaths, bytes: Uint8Array): ArtifactPaths {
    writeFileSync(paths.signature, bytes);
    return paths;
  }

  it('one byte flipped in the .so', async () => {
    const paths = await signed();
    const bytes = readFileSync(paths.so);
    bytes[bytes.length - 64] ^= 0x01;
    writeFileSync(paths.so, bytes);
    await expectRejected(await f.upload(paths), 'file-match', /SM3 digest mismatch.*not the file that was signed/);
  });

  it('manifest edited after signing', async () => {
    const paths = await signed();
    writeFileSync(paths.manifest, readFileSync(paths.manifest, 'utf8').replace('"1.0.0"', '"1.0.1"'));
    await expectRejected(await f.upload(paths), 'signature', /manifest was changed after signing/);
  });

  it('signed by an unregistered key', async () => {
    await expectRejected(await f.upload(await signed(ledger, { key: generateSm2KeyPair().privateKeyPem })), 'signature', /no registered signer's key verifies/);
  });

  it('revoked, expired and not-allowed signers', async () => {
    const revoked = generateSm2KeyPair();
    const expired = generateSm2KeyPair();
    const narrow = generateSm2KeyPair();
    const day = 86_400_000;
    const base = { subjectDn: 'CN=Other', serial: '7', notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() + day) };
    const r = await registerSigner(f.db, ADMIN as never, { ...base, name: 'to revoke', publicKey: revoked.publicKeyPem, allowedModules: ['*'] });
    await revokeSigner(f.db, ADMIN as never, r.id, 'key left the HSM');
    await registerSigner(f.db, ADMIN as never, { ...base, name: 'expired', publicKey: expired.publicKeyPem, allowedModules: ['*'], notAfter: new Date(Date.now() - day) });
    await registerSigner(f.db, ADMIN as never, { ...base, name: 'risk only', publicKey: narrow.publicKeyPem, allowedModules: ['risk-*'] });
    await expectRejected(await f.upload(await signed(ledger, { key: revoked.privateKeyPem })), 'signer', /was revoked at .*key left the HSM/);
    await expectRejected(await f.upload(await signed(ledger, { key: expired.privateKeyPem })), 'signer', /expired at/);
    await expectRejected(await f.upload(await signed(ledger, { key: narrow.privateKeyPem })), 'signer', /may sign only risk-\*, not "ledger"/);
  });

  it('an OpenSSL signature made without the GM/T user ID', async () => {
    const paths = await signed();
    const keyFile = path.join(f.work, 'openssl-key.pem');
    writeFileSync(keyFile, f.signerKeys.privateKeyPem);
    execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-inkey', keyFile, '-in', paths.manifest, '-out', paths.signature]);
    await expectRejected(await f.upload(paths), 'signature', /SM2_EMPTY_USER_ID: .*verifies with the empty ID but not with 1234567812345678.*distid:1234567812345678/);
  });

  it('DER with trailing bytes, r = 0, s ≥ n; raw of the wrong length', async () => {
    const paths = await signed();
    const good = readFileSync(paths.signature);
    await expectRejected(await f.upload(withSignature(paths, Buffer.concat([good, Buffer.from([0])]))), 'signature', /DER_TRAILING_BYTES/);
    const s = Buffer.from(SM2_N.toString(16).padStart(64, '0'), 'hex');
    const derOf = (r: Buffer, sBytes: Buffer) => {
      const int = (b: Buffer) => (b[0] & 0x80 ? Buffer.concat([Buffer.from([2, b.length + 1, 0]), b]) : Buffer.concat([Buffer.from([2, b.length]), b]));
      const body = Buffer.concat([int(r), int(sBytes)]);
      return Buffer.concat([Buffer.from([0x30, body.length]), body]);
    };
    await expectRejected(await f.upload(withSignature(paths, derOf(Buffer.from([0]), Buffer.from([1, 2, 3])))), 'signature', /SCALAR_ZERO/);
    await expectRejected(await f.upload(withSignature(paths, derOf(Buffer.from([1]), s))), 'signature', /SCALAR_OUT_OF_RANGE/);
    await expectRejected(await f.upload(withSignature(paths, Buffer.alloc(63, 7))), 'signature', /RAW_WRONG_LENGTH/);
  });

  it('a public key not on the curve is refused at registration', async () => {
    const point = Buffer.from(generateSm2KeyPair().publicKeyHex, 'hex');
    point[64] ^= 0x01;
    await assert.rejects(
      registerSigner(f.db, ADMIN as never, {
        name: 'bad point', subjectDn: 'CN=x', serial: '1', publicKey: point.toString('hex'), allowedModules: ['*'],
        notBefore: new Date(), notAfter: new Date(Date.now() + 1000),
      }),
      /not a point on the SM2 curve/,
    );
  });

  it('not an ELF; a truncated ELF', async () => {
    const text = path.join(f.work, 'readme.so');
    writeFileSync(text, 'this is not a shared object\n'.repeat(20));
    await expectRejected(await f.upload(await signed(text)), 'elf-format', /NOT_ELF/);
    const cut = path.join(f.work, 'cut.so');
    writeFileSync(cut, readFileSync(ledger).subarray(0, 40));
    await expectRejected(await f.upload(await signed(cut)), 'elf-format', /TRUNCATED/);
  });

  function patched(name: string, patch: (b: Buffer) => void) {
    const bytes = readFileSync(ledger);
    patch(bytes);
    const file = path.join(f.work, name);
    writeFileSync(file, bytes);
    return file;
  }

  it('32-bit ELF, aarch64 ELF, ET_EXEC', async () => {
    await expectRejected(await f.upload(await signed(patched('elf32.so', (b) => { b[4] = 1; }))), 'elf-format', /32-bit|ELFCLASS32|class/i);
    await expectRejected(await f.upload(await signed(patched('arm.so', (b) => b.writeUInt16LE(183, 18)))), 'elf-machine', /built for aarch64/);
    await expectRejected(await f.upload(await signed(patched('exec.so', (b) => b.writeUInt16LE(2, 16)))), 'elf-format', /ET_EXEC/);
  });

  it('a missing ABI export, a forbidden export, static TLS', async () => {
    const source = path.join(f.work, 'partial.c');
    writeFileSync(source, '#include <stdint.h>\n__attribute__((visibility("default"))) uint32_t hp_abi_version(void) { return 1; }\n');
    const partial = path.join(f.work, 'partial.so');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', partial, source]);
    await expectRejected(await f.upload(await signed(partial)), 'abi-exports', /missing ABI v1 export\(s\) hp_module_name/);
    await expectRejected(await f.upload(await signed(f.modulePath('ledger', '1.2.7', 'forbidden-export'))), 'forbidden-exports', /crypto_sm4_override/);
    await expectRejected(await f.upload(await signed(f.modulePath('ledger', '1.2.11', 'static-tls'))), 'static-tls', /static \(initial-exec\) TLS/);
  });

  it('a red-line class', async () => {
    await expectRejected(await f.upload(await signed(ledger, { moduleClass: 'crypto' })), 'class-policy', /RED LINE: class "crypto" is never hot-upgraded/);
  });

  it('over the size cap', async () => {
    const big = path.join(f.work, 'big.so');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 1));
    await expectRejected(await f.upload(await signed(big)), 'size-limit', /larger than the upload limit of 4194304 bytes/);
  });

  it('"../" or "/" in a file name', async () => {
    const paths = await signed();
    await expectRejected(await f.upload(paths, { so: '../ledger.so' }), 'file-names', /path separator/);
    await expectRejected(await f.upload(paths, { manifest: '/etc/ledger.so.manifest.json' }), 'file-names', /path separator/);
  });

  it('manifest not JSON, missing fields, wrong schema, expired', async () => {
    await expectRejected(await f.upload(await signed(ledger, { manifestText: '{ not json' })), 'manifest', /manifest is not JSON/);
    await expectRejected(await f.upload(await signed(ledger, { editManifest: (m) => delete m.file })), 'manifest', /file: /);
    await expectRejected(await f.upload(await signed(ledger, { editManifest: (m) => { m.schema = 'hotplane.manifest/v0'; } })), 'manifest', /schema must be "hotplane.manifest\/v1"/);
    // Signed an hour ago, while the signer was valid (a manifest dated outside that is the signer check's to refuse).
    const expiredAt = new Date(Date.now() - 60_000).toISOString();
    await expectRejected(
      await f.upload(await signed(ledger, { editManifest: (m) => { m.created = new Date(Date.now() - 3_600_000).toISOString(); m.expires = expiredAt; } })),
      'expiry',
      new RegExp(`manifest expired at ${expiredAt.replace(/\./g, '\\.')}`),
    );
  });
});
