import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { buildSyntheticElf } from '../artifacts/elf-fixtures/synthetic-elf';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules';

const BIN = path.resolve('bin/hotplane.js');

function hotplane(...args: string[]) {
  const env = { ...process.env };
  delete env.HOTPLANE_DATA_DIR;
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('hotplane CLI: keygen, manifest, sign, verify, inspect (the real binary)', () => {
  let dir: string;
  let so: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-cli-'));
    so = path.join(dir, 'ledger-1.1.0.so');
    copyFileSync(exampleModulePath(await buildExampleModules(), 'ledger', '1.1.0'), so);
  });

  it('signs an artifact end to end and verifies it offline', () => {
    assert.equal(hotplane('keygen', '--out', path.join(dir, 'keys')).code, 0);
    const manifest = hotplane('manifest', so, '--module', 'ledger', '--version', '1.1.0', '--class', 'business');
    assert.equal(manifest.code, 0, manifest.out);
    const json = JSON.parse(readFileSync(`${so}.manifest.json`, 'utf8'));
    assert.equal(json.arch, 'x86_64');
    assert.equal(json.file.size, readFileSync(so).length);
    assert.equal(hotplane('sign', `${so}.manifest.json`, '--key', path.join(dir, 'keys', 'key.pem')).code, 0);
    const verified = hotplane('verify', so, '--pubkey', path.join(dir, 'keys', 'pub.pem'));
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /verified: every check passed/);
  });

  it('verify --probe loads the .so in a throwaway child and fails one whose identity differs from its manifest', () => {
    const probed = hotplane('verify', so, '--pubkey', path.join(dir, 'keys', 'pub.pem'), '--probe');
    assert.equal(probed.code, 0, probed.out);
    assert.match(probed.out, /PASS\s+Loaded in a throwaway probe.*hp_module_version\(\) "1\.1\.0"/);
    const relabelled = path.join(dir, 'relabelled.so');
    copyFileSync(so, relabelled);
    assert.equal(hotplane('manifest', relabelled, '--module', 'ledger', '--version', '9.0.0', '--class', 'business').code, 0);
    assert.equal(hotplane('sign', `${relabelled}.manifest.json`, '--key', path.join(dir, 'keys', 'key.pem')).code, 0);
    assert.equal(hotplane('verify', relabelled, '--pubkey', path.join(dir, 'keys', 'pub.pem')).code, 0, 'without --probe the label is not checked');
    const refused = hotplane('verify', relabelled, '--pubkey', path.join(dir, 'keys', 'pub.pem'), '--probe');
    assert.equal(refused.code, 1);
    assert.match(refused.out, /hp_module_version\(\) is "1\.1\.0", not "9\.0\.0"/);
  });

  it('exits 1 and lists every failed check', () => {
    const tampered = path.join(dir, 'tampered.so');
    const bytes = readFileSync(so);
    bytes[bytes.length - 10] ^= 1;
    writeFileSync(tampered, bytes);
    const other = hotplane('keygen', '--out', path.join(dir, 'other'));
    assert.equal(other.code, 0);
    const result = hotplane('verify', tampered, '--manifest', `${so}.manifest.json`, '--sig', `${so}.manifest.sig`, '--pubkey', path.join(dir, 'other', 'pub.pem'));
    assert.equal(result.code, 1);
    assert.match(result.out, /2 check\(s\) failed: signature, file-match/);
  });

  it('accepts a hex signature and an OpenSSL-made one', () => {
    assert.equal(hotplane('sign', `${so}.manifest.json`, '--key', path.join(dir, 'keys', 'key.pem'), '--hex', '--out', path.join(dir, 'hex.sig')).code, 0);
    assert.equal(hotplane('verify', so, '--sig', path.join(dir, 'hex.sig'), '--pubkey', path.join(dir, 'keys', 'pub.hex')).code, 0);
    const opensslSig = path.join(dir, 'openssl.sig');
    const signed = spawnSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678', '-inkey', path.join(dir, 'keys', 'key.pem'), '-in', `${so}.manifest.json`, '-out', opensslSig]);
    assert.equal(signed.status, 0, signed.stderr?.toString());
    assert.equal(hotplane('verify', so, '--sig', opensslSig, '--pubkey', path.join(dir, 'keys', 'pub.pem')).code, 0);
  });

  it('verify names a signature made with an empty SM2 user ID, and a hex signature with a 0x prefix', () => {
    const noIdSig = path.join(dir, 'no-id.sig');
    const signed = spawnSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-inkey', path.join(dir, 'keys', 'key.pem'), '-in', `${so}.manifest.json`, '-out', noIdSig]);
    assert.equal(signed.status, 0, signed.stderr?.toString());
    const noId = hotplane('verify', so, '--sig', noIdSig, '--pubkey', path.join(dir, 'keys', 'pub.pem'));
    assert.equal(noId.code, 1);
    assert.match(noId.out, /FAIL.*SM2_EMPTY_USER_ID: the SM2 signature was made with an empty user ID: it verifies with the empty ID but not with 1234567812345678/);
    const prefixed = path.join(dir, 'prefixed.sig');
    writeFileSync(prefixed, `0x${readFileSync(path.join(dir, 'hex.sig'), 'utf8').trim()}\n`);
    const withPrefix = hotplane('verify', so, '--sig', prefixed, '--pubkey', path.join(dir, 'keys', 'pub.pem'));
    assert.equal(withPrefix.code, 1);
    assert.match(withPrefix.out, /HEX_0X_PREFIX: the signature is hex text with a "0x" prefix; remove the "0x"/);
  });

  it('names a 32-bit ELF as 32-bit and a foreign machine by its name, in manifest and verify', () => {
    const elf = (name: string, elfClass: 32 | 64, eMachine: number) => {
      const file = path.join(dir, name);
      writeFileSync(file, buildSyntheticElf({ elfClass, endianness: 'little', eMachine, soname: name, needed: [], exports: ['hp_abi_version'], dynamicFlags: 0 }));
      return file;
    };
    // x32: e_machine x86_64 in a 32-bit file, which must not pass for arch x86_64.
    const x32 = hotplane('manifest', elf('x32.so', 32, 62), '--module', 'ledger', '--version', '1.1.0', '--class', 'business');
    assert.notEqual(x32.code, 0);
    assert.match(x32.out, /32-bit ELF for x86_64 \(e_machine 62\): Hotplane loads 64-bit shared objects only/);
    const riscv = hotplane('manifest', elf('riscv.so', 64, 243), '--module', 'ledger', '--version', '1.1.0', '--class', 'business');
    assert.notEqual(riscv.code, 0);
    assert.match(riscv.out, /built for riscv \(e_machine 243\), not a supported arch \(x86_64, aarch64\)/);
    const signed = ['--manifest', `${so}.manifest.json`, '--sig', `${so}.manifest.sig`, '--pubkey', path.join(dir, 'keys', 'pub.pem')];
    const i386 = hotplane('verify', elf('i386.so', 32, 3), ...signed);
    assert.equal(i386.code, 1);
    assert.match(i386.out, /FAIL.*32-bit ELF \(ELFCLASS32\) for i386 \(e_machine 3\): build a 64-bit shared object for x86_64/);
    const aarch64 = hotplane('verify', elf('aarch64.so', 64, 183), ...signed);
    assert.equal(aarch64.code, 1);
    assert.match(aarch64.out, /FAIL.*built for aarch64 \(e_machine 183\), but this machine is x86_64: build for x86_64/);
  });

  it('inspects an ELF as JSON and refuses bad usage with exit 2', () => {
    const inspected = hotplane('inspect', so, '--json');
    assert.equal(inspected.code, 0);
    const report = JSON.parse(inspected.out);
    assert.equal(report.type, 'ET_DYN');
    assert.ok(report.definedExports.some((s: { name: string }) => s.name === 'hp_handle'));
    assert.equal(hotplane('manifest', so, '--module', 'ledger').code, 2);
    assert.equal(hotplane('frobnicate').code, 2);
  });
});
