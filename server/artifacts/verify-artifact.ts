import semver from 'semver';
import { SignatureErrorCode, verifySignature } from '../crypto';
import { signerStanding, type SignerCandidate } from '../signers/registry';
import { CheckRecorder, type CheckResult } from './checks';
import { ElfError } from './elf-errors';
import { hostElfMachine, inspectElf, resolveNeeded, type ElfReport } from './elf';
import { machineName } from './elf-header';
import { NEVER_HOT_UPGRADABLE, parseManifest, type Manifest } from './manifest';
import { isWithdrawn } from './version-validity';

// One verification, shared by the upload pipeline (console and `hotplane push`) and `hotplane verify`
// (offline). It runs every check it can, so a report lists all failures, not only the first.

export const REQUIRED_ABI_EXPORTS = [
  'hp_abi_version',
  'hp_module_name',
  'hp_module_version',
  'hp_init',
  'hp_handle',
  'hp_health',
  'hp_self_test',
  'hp_shutdown',
] as const;

export const ELF_MACHINE_FOR_ARCH: Record<Manifest['arch'], number> = { x86_64: 62, aarch64: 183 };

export interface ExistingVersion {
  version: string;
  sm3: string;
  status: string;
}

export interface VerificationInput {
  soPath: string;
  fileNames: { so: string; manifest: string; signature: string };
  received: { size: number; sm3: string; sha256: string };
  manifestBytes: Uint8Array;
  signatureBytes: Uint8Array;
  signers: SignerCandidate[];
  forbiddenExportPatterns: RegExp[];
  now?: Date;
  /**
   * Loads the .so in a throwaway child and compares hp_abi_version, hp_module_name and hp_module_version with the
   * manifest; absent for an offline `hotplane verify` without --probe. Runs only when every other check passed.
   */
  identityProbe?: (soPath: string, manifest: Manifest) => Promise<{ ok: boolean; detail: string }>;
  // Registry facts for the version policy; absent for an offline `hotplane verify`.
  registry?: {
    versionsOfModule(module: string): Promise<ExistingVersion[]>;
    acceptedWithSameBytes(sm3: string): Promise<{ module: string; version: string } | null>;
  };
}

export interface VerificationOutcome {
  outcome: 'accepted' | 'duplicate' | 'rejected';
  checks: CheckResult[];
  failure?: CheckResult;
  message: string;
  manifest?: Manifest;
  signer?: SignerCandidate;
  elf?: ElfReport;
}

const SAFE_NAME = /^[A-Za-z0-9._+-]{1,255}$/;

function checkFileNames(names: VerificationInput['fileNames']) {
  for (const [role, name] of Object.entries(names)) {
    if (name.includes('/') || name.includes('\\') || name.includes('..') || !SAFE_NAME.test(name)) {
      return { ok: false, detail: `${role} file name "${name}" has a path separator, "..", or a character outside A-Z a-z 0-9 . _ + -; upload the file under its plain name` };
    }
  }
  if (!names.so.endsWith('.so') && !/\.so(\.\d+)*$/.test(names.so)) {
    return { ok: false, detail: `"${names.so}" is not named like a shared object (*.so)` };
  }
  return { ok: true, detail: `${names.so}, ${names.manifest}, ${names.signature}` };
}

function findSigner(input: VerificationInput) {
  const mismatches: string[] = [];
  for (const signer of input.signers) {
    const result = verifySignature({ message: input.manifestBytes, signature: input.signatureBytes, key: signer.key });
    if (result.ok) return { signer, detail: `${result.encoding.toUpperCase()} (${result.transport}) signature by "${signer.name}" (${signer.fingerprint.slice(0, 16)}…)` };
    if (result.code !== SignatureErrorCode.MISMATCH) return { error: `${result.code}: ${result.message}` };
    mismatches.push(result.message);
  }
  if (input.signers.length === 0) return { error: 'no signer is registered; an admin must register the signer\'s public key first' };
  return {
    error:
      `no registered signer's key verifies this signature over the manifest bytes (${input.signers.length} tried): ` +
      'the manifest was changed after signing, or it was signed by a key that is not registered. ' +
      `Re-sign the exact manifest file, or ask an admin to register the signer. ${mismatches[0]?.split('; ').slice(1).join('; ') ?? ''}`.trim(),
  };
}

export async function verifyArtifact(input: VerificationInput): Promise<VerificationOutcome> {
  const now = input.now ?? new Date();
  const checks = new CheckRecorder();
  await checks.run('file-names', () => checkFileNames(input.fileNames));
  checks.record('size-limit', 'pass', `${input.received.size} bytes`);
  checks.record('digest', 'pass', `SM3 ${input.received.sm3}, SHA-256 ${input.received.sha256}`);

  let signer: SignerCandidate | undefined;
  await checks.run('signature', () => {
    const found = findSigner(input);
    if ('error' in found) return { ok: false, detail: found.error ?? 'signature refused' };
    signer = found.signer;
    return { ok: true, detail: found.detail };
  });

  let manifest: Manifest | undefined;
  await checks.run('manifest', () => {
    const parsed = parseManifest(input.manifestBytes);
    if (!parsed.ok) return { ok: false, detail: parsed.message };
    manifest = parsed.manifest;
    return { ok: true, detail: `${manifest.module} ${manifest.version}, class ${manifest.class}, arch ${manifest.arch}` };
  });

  if (signer && manifest) {
    const found = signer;
    const standing = signerStanding(found, manifest.module, now);
    const signedAt = new Date(manifest.created);
    await checks.run('signer', () => {
      if (!standing.usable) return { ok: false, detail: standing.message };
      if (signedAt < found.notBefore || signedAt > found.notAfter) {
        return {
          ok: false,
          detail: `the manifest was created at ${manifest!.created}, outside signer "${found.name}"'s validity (${found.notBefore.toISOString()} to ${found.notAfter.toISOString()}); have a valid signer sign it again`,
        };
      }
      return { ok: true, detail: `"${found.name}" ${found.subjectDn}, valid until ${found.notAfter.toISOString()}, may sign ${found.allowedModules.join(', ')}` };
    });
  } else {
    checks.skip('signer', 'needs a verified signature and a valid manifest');
  }

  if (manifest) {
    const m = manifest;
    await checks.run('file-match', () => {
      const problems: string[] = [];
      if (m.file.size !== input.received.size) problems.push(`size is ${input.received.size} bytes, manifest says ${m.file.size}`);
      if (m.file.sm3 !== input.received.sm3) problems.push(`SM3 digest mismatch: file ${input.received.sm3}, manifest ${m.file.sm3}`);
      if (m.file.sha256 !== input.received.sha256) problems.push(`SHA-256 digest mismatch: file ${input.received.sha256}, manifest ${m.file.sha256}`);
      return problems.length
        ? { ok: false, detail: `${problems.join('; ')}: the .so is not the file that was signed (changed or corrupted); upload the signed file` }
        : { ok: true, detail: 'size, SM3 and SHA-256 equal the manifest' };
    });
    await checks.run('expiry', () => {
      if (Date.parse(m.expires) <= now.getTime()) return { ok: false, detail: `manifest expired at ${m.expires}; have it re-signed with a later expiry` };
      if (Date.parse(m.created) > now.getTime() + 5 * 60_000) return { ok: false, detail: `manifest is created in the future (${m.created}); check the signing machine's clock` };
      return { ok: true, detail: `valid until ${m.expires}` };
    });
  } else {
    checks.skip('file-match', 'needs a valid manifest');
    checks.skip('expiry', 'needs a valid manifest');
  }

  const elf = await runElfChecks(checks, input, manifest);

  if (manifest) {
    const m = manifest;
    await checks.run('class-policy', () =>
      NEVER_HOT_UPGRADABLE.includes(m.class)
        ? { ok: false, detail: `RED LINE: class "${m.class}" is never hot-upgraded (data-access, crypto, key-management and audit-writer modules change only through a planned restart)` }
        : { ok: true, detail: `class "${m.class}" may be hot-upgraded` },
    );
  } else {
    checks.skip('class-policy', 'needs a valid manifest');
  }

  let duplicate = false;
  if (manifest && input.registry) {
    const m = manifest;
    const registry = input.registry;
    await checks.run('version-policy', async () => {
      const versions = await registry.versionsOfModule(m.module);
      const same = versions.find((v) => v.version === m.version);
      const revokedBytes = versions.find((v) => isWithdrawn(v.status) && v.sm3 === input.received.sm3);
      if ((same && isWithdrawn(same.status)) || revokedBytes) {
        return { ok: false, detail: `${m.module} ${(same ?? revokedBytes)!.version} was revoked and never comes back; build and sign a new, higher version` };
      }
      if (same && same.sm3 === input.received.sm3) {
        duplicate = true;
        return { ok: true, detail: `identical re-upload of ${m.module} ${m.version}: nothing changes` };
      }
      if (same) return { ok: false, detail: `${m.module} ${m.version} is already accepted with different bytes; bump the version` };
      const elsewhere = await registry.acceptedWithSameBytes(input.received.sm3);
      if (elsewhere) return { ok: false, detail: `these exact bytes are already accepted as ${elsewhere.module} ${elsewhere.version}` };
      // A withdrawn version does not hold the line: a mislabelled or stolen-key "9.0.0" must not block 1.x for good.
      const highest = versions.filter((v) => !isWithdrawn(v.status)).map((v) => v.version).sort(semver.rcompare)[0];
      if (highest && !semver.gt(m.version, highest)) {
        return { ok: false, detail: `version ${m.version} is not above ${highest}, the highest version of ${m.module} accepted and not revoked; use a higher semver` };
      }
      return { ok: true, detail: highest ? `${m.version} > ${highest}` : `first version of ${m.module}` };
    });
  } else if (!input.registry) {
    checks.skip('version-policy', 'offline verification has no registry');
  } else {
    checks.skip('version-policy', 'needs a valid manifest');
  }

  if (!input.identityProbe) {
    checks.skip('identity', 'not probed (offline verification without --probe)');
  } else if (checks.firstFailure() || !manifest) {
    checks.skip('identity', 'an earlier check failed, so the .so is not loaded anywhere');
  } else {
    const probe = input.identityProbe;
    const m = manifest;
    await checks.run('identity', () => probe(input.soPath, m));
  }

  const failure = checks.firstFailure();
  return {
    outcome: failure ? 'rejected' : duplicate ? 'duplicate' : 'accepted',
    checks: checks.results,
    failure,
    message: failure
      ? `rejected at "${failure.check}": ${failure.detail}`
      : duplicate
        ? `${manifest!.module} ${manifest!.version} is already accepted with these exact bytes`
        : `${manifest!.module} ${manifest!.version} passed every check`,
    manifest,
    signer,
    elf,
  };
}

async function runElfChecks(checks: CheckRecorder, input: VerificationInput, manifest: Manifest | undefined) {
  const elfChecks = ['elf-machine', 'abi-exports', 'forbidden-exports', 'needed-libraries', 'static-tls', 'go-runtime'] as const;
  let elf: ElfReport | undefined;
  const formatOk = await checks.run('elf-format', async () => {
    try {
      elf = await inspectElf(input.soPath);
    } catch (error) {
      if (error instanceof ElfError) return { ok: false, detail: `${error.code}: ${error.message}` };
      throw error;
    }
    if (elf.elfClass !== 64) return { ok: false, detail: `32-bit ELF (ELFCLASS32) for ${elf.machine} (e_machine ${elf.eMachine}): build a 64-bit shared object for ${machineName(hostElfMachine())}` };
    if (elf.endianness !== 'little') return { ok: false, detail: 'big-endian ELF: build a little-endian shared object' };
    if (elf.type !== 'ET_DYN') return { ok: false, detail: `ELF type ${elf.type}, not a shared object (ET_DYN): link with -shared` };
    if (elf.pieExecutable) return { ok: false, detail: 'a position-independent executable (DF_1_PIE), not a library: link with -shared' };
    return { ok: true, detail: 'ELF64, little-endian, ET_DYN' };
  });
  if (!formatOk || !elf) {
    for (const check of elfChecks) checks.skip(check, 'the file is not a readable ELF64 shared object');
    return elf;
  }
  const report = elf;
  await checks.run('elf-machine', () => {
    const host = hostElfMachine();
    if (report.eMachine !== host) {
      return { ok: false, detail: `built for ${report.machine} (e_machine ${report.eMachine}), but this machine is ${machineName(host)}: build for ${machineName(host)}` };
    }
    if (manifest && ELF_MACHINE_FOR_ARCH[manifest.arch] !== report.eMachine) {
      return { ok: false, detail: `manifest says arch ${manifest.arch} but the ELF is ${report.machine}` };
    }
    return { ok: true, detail: report.machine };
  });
  await checks.run('abi-exports', () => {
    const exported = new Set(report.definedExports.map((symbol) => symbol.name));
    const missing = REQUIRED_ABI_EXPORTS.filter((name) => !exported.has(name));
    return missing.length
      ? { ok: false, detail: `missing ABI v1 export(s) ${missing.join(', ')}: implement modules/hotplane_module.h and export them` }
      : { ok: true, detail: `all ${REQUIRED_ABI_EXPORTS.length} required exports present` };
  });
  await checks.run('forbidden-exports', () => {
    const forbidden = report.definedExports.map((symbol) => symbol.name).filter((name) => input.forbiddenExportPatterns.some((p) => p.test(name)));
    return forbidden.length
      ? { ok: false, detail: `forbidden export(s) ${forbidden.join(', ')} (patterns ${input.forbiddenExportPatterns.map((p) => p.source).join(', ')}): a module may not override audit or crypto hooks` }
      : { ok: true, detail: `${report.definedExports.length} exports, none forbidden` };
  });
  await checks.run('needed-libraries', async () => {
    const resolved = await resolveNeeded(report.needed, { runpath: report.runpath, rpath: report.rpath });
    const missing = resolved.filter((r) => r.path === null).map((r) => r.name);
    return missing.length
      ? { ok: false, detail: `needed librar${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')} not found on this machine: link statically or install it` }
      : { ok: true, detail: resolved.map((r) => `${r.name} → ${r.path}`).join(', ') || 'no DT_NEEDED entries' };
  });
  // Go's c-shared runtime always uses initial-exec TLS. glibc keeps a small static-TLS reserve for dlopen,
  // enough for one such module in a fresh process, which is exactly how Go modules run (a cell of their own).
  await checks.run('static-tls', () => {
    if (!report.staticTls) return { ok: true, detail: 'no static TLS' };
    if (report.goBuildInfo) {
      return { ok: true, detail: 'static TLS from the Go runtime: allowed because a Go module always loads alone into a fresh cell process' };
    }
    return {
      ok: false,
      detail: 'the module uses static (initial-exec) TLS (DF_STATIC_TLS): dlopen into a running process can fail with "cannot allocate memory in static TLS block"; rebuild with -ftls-model=global-dynamic',
    };
  });
  checks.record(
    'go-runtime',
    'pass',
    report.goBuildInfo
      ? `Go runtime detected${report.goBuildInfo.goVersion ? ` (${report.goBuildInfo.goVersion})` : ''}: runs only in its own process cell and is never unloaded in place`
      : 'no Go runtime',
  );
  return elf;
}
