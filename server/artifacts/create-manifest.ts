import { readFile, writeFile } from 'node:fs/promises';
import { digestArtifactFile, signSm2 } from '../crypto';
import { inspectElf, type ElfReport } from './elf';
import { MANIFEST_SCHEMA, serializeManifest, type Manifest, type ModuleClass } from './manifest';
import { ELF_MACHINE_FOR_ARCH } from './verify-artifact';

export interface ManifestRequest {
  module: string;
  version: string;
  moduleClass: ModuleClass;
  // Taken from the ELF header when absent.
  arch?: Manifest['arch'];
  validDays?: number;
  now?: Date;
}

const SUPPORTED_ARCHES = Object.keys(ELF_MACHINE_FOR_ARCH).join(', ');

// A 32-bit file of a supported machine (x32, arm32 as e_machine aarch64 never is) must not pass as that arch.
function archOfElf(elf: ElfReport): Manifest['arch'] {
  if (elf.elfClass !== 64) {
    throw new Error(`the .so is a 32-bit ELF for ${elf.machine} (e_machine ${elf.eMachine}): Hotplane loads 64-bit shared objects only; build a 64-bit one (${SUPPORTED_ARCHES})`);
  }
  const entry = Object.entries(ELF_MACHINE_FOR_ARCH).find(([, code]) => code === elf.eMachine);
  if (!entry) throw new Error(`the .so is built for ${elf.machine} (e_machine ${elf.eMachine}), not a supported arch (${SUPPORTED_ARCHES})`);
  return entry[0] as Manifest['arch'];
}

// Second precision keeps the manifest readable and identical to what an OpenSSL-only recipe writes.
function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export async function createManifest(soPath: string, request: ManifestRequest): Promise<string> {
  const now = request.now ?? new Date();
  const digest = await digestArtifactFile(soPath);
  const arch = request.arch ?? archOfElf(await inspectElf(soPath));
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    module: request.module,
    version: request.version,
    abi: 1,
    arch,
    class: request.moduleClass,
    file: { size: digest.size, sm3: digest.sm3, sha256: digest.sha256 },
    created: isoSeconds(now),
    expires: isoSeconds(new Date(now.getTime() + (request.validDays ?? 365) * 86_400_000)),
  };
  return serializeManifest(manifest);
}

// Writes name.so.manifest.json and name.so.manifest.sig (binary DER) beside the .so.
export async function writeSignedManifest(soPath: string, request: ManifestRequest, privateKey: string) {
  const manifestText = await createManifest(soPath, request);
  const manifestPath = `${soPath}.manifest.json`;
  const signaturePath = `${soPath}.manifest.sig`;
  await writeFile(manifestPath, manifestText);
  const manifestBytes = await readFile(manifestPath);
  await writeFile(signaturePath, signSm2(manifestBytes, privateKey));
  return { manifestPath, signaturePath };
}
