// ELF inspection for the upload preflight and `hotplane inspect`.
// Hand-written: node_modules has no ELF parser, and this one must read a 100+ MB upload through positioned
// reads and understand the dynamic section and GNU symbol versions.
import { readDynamicInfo, hasInitialExecTlsRelocation } from './elf-dynamic.ts';
import { ElfFile, type ElfClass, type Endianness } from './elf-file.ts';
import { hostElfTarget, type ElfTarget } from './elf-host.ts';
import {
  PT_TLS,
  machineName,
  readElfHeader,
  readProgramHeaders,
  readSectionHeaders,
  typeName,
  type ElfTypeName,
} from './elf-header.ts';
import { readBuildId, readGoBuildInfo, type GoBuildInfo } from './elf-provenance.ts';
import { readDynamicSymbols, type ElfSymbol } from './elf-symbols.ts';

export { ElfError, ElfErrorCode } from './elf-errors.ts';
export type { ElfClass, Endianness } from './elf-file.ts';
export type { ElfTypeName } from './elf-header.ts';
export type { GoBuildInfo } from './elf-provenance.ts';
export type { ElfSymbol, ElfSymbolBinding, ElfSymbolType, ElfSymbolVisibility } from './elf-symbols.ts';
export { hostElfMachine, hostElfTarget, type ElfTarget } from './elf-host.ts';
export { resolveNeeded, type LibrarySource, type ResolveNeededOptions, type ResolvedLibrary } from './elf-resolve.ts';

export type StaticTlsEvidence = 'DF_STATIC_TLS' | 'INITIAL_EXEC_TLS_RELOCATIONS';

export interface ElfReport {
  fileSize: number;
  elfClass: ElfClass;
  endianness: Endianness;
  osAbi: number;
  type: ElfTypeName;
  eType: number;
  // e.g. 'x86_64', 'aarch64', 'i386'; 'unknown' when eMachine is not in the table.
  machine: string;
  eMachine: number;
  soname: string | null;
  needed: string[];
  rpath: string[];
  runpath: string[];
  // ET_DYN with DF_1_PIE: an executable, not a library, even though its type is ET_DYN.
  pieExecutable: boolean;
  // The module needs a slot in the static TLS block, which a process that is already running may not
  // have room for: dlopen can then fail with "cannot allocate memory in static TLS block".
  staticTls: boolean;
  staticTlsEvidence: StaticTlsEvidence | null;
  hasTlsSegment: boolean;
  // Without the reserved null symbol, in .dynsym order.
  dynamicSymbols: ElfSymbol[];
  // Defined, non-LOCAL dynamic symbols: what `nm -D --defined-only` lists (nm would add LOCAL ones too,
  // but linkers put none in .dynsym). Names repeat when a symbol has several versions (libc's memcpy).
  definedExports: ElfSymbol[];
  // Present when the file has a .go.buildinfo section, i.e. it embeds a Go runtime.
  goBuildInfo: GoBuildInfo | null;
  buildId: string | null;
  // Section header names in order, without the null section 0.
  sectionNames: string[];
}

// Reads only the headers and tables it needs; throws ElfError for input that cannot be inspected and
// lets file system errors (ENOENT, EACCES) through unchanged.
export async function inspectElf(path: string): Promise<ElfReport> {
  const file = await ElfFile.open(path);
  try {
    const header = await readElfHeader(file);
    const programs = await readProgramHeaders(file, header);
    const sections = await readSectionHeaders(file, header);
    const dynamic = await readDynamicInfo(file, header, programs, sections);
    const dynamicSymbols = await readDynamicSymbols(file, header, sections);
    const hasTlsSegment = programs.some((program) => program.type === PT_TLS);

    let staticTlsEvidence: StaticTlsEvidence | null = null;
    if (dynamic?.staticTlsFlag) staticTlsEvidence = 'DF_STATIC_TLS';
    else if (dynamic && hasTlsSegment && (await hasInitialExecTlsRelocation(file, header, programs, dynamic))) {
      staticTlsEvidence = 'INITIAL_EXEC_TLS_RELOCATIONS';
    }

    return {
      fileSize: file.size,
      elfClass: header.elfClass,
      endianness: header.endianness,
      osAbi: header.osAbi,
      type: typeName(header.eType),
      eType: header.eType,
      machine: machineName(header.eMachine),
      eMachine: header.eMachine,
      soname: dynamic?.soname ?? null,
      needed: dynamic?.needed ?? [],
      rpath: dynamic?.rpath ?? [],
      runpath: dynamic?.runpath ?? [],
      pieExecutable: dynamic?.pieExecutable ?? false,
      staticTls: staticTlsEvidence !== null,
      staticTlsEvidence,
      hasTlsSegment,
      dynamicSymbols,
      definedExports: dynamicSymbols.filter((symbol) => symbol.defined && symbol.binding !== 'LOCAL'),
      goBuildInfo: await readGoBuildInfo(file, sections),
      buildId: await readBuildId(file, header, programs, sections),
      sectionNames: sections.slice(1).map((section) => section.name),
    };
  } finally {
    await file.close();
  }
}

// Why this file cannot be loaded into a process of `target`, as sentences for the uploader; empty when it can.
export function hostIncompatibilities(report: ElfReport, target: ElfTarget = hostElfTarget()): string[] {
  const machine = machineName(target.eMachine);
  const wanted = `a ${target.elfClass}-bit ${machine} shared object (gcc -shared -fPIC)`;
  const problems: string[] = [];
  if (report.elfClass !== target.elfClass) problems.push(`${report.elfClass}-bit ELF: build ${wanted}`);
  if (report.eMachine !== target.eMachine) {
    problems.push(`built for ${report.machine} (e_machine ${report.eMachine}), but this server runs on ${machine}: build ${wanted}`);
  }
  if (report.endianness !== target.endianness) problems.push(`${report.endianness}-endian ELF: build ${wanted}`);
  if (report.type !== 'ET_DYN') problems.push(`ELF type is ${report.type}, not a shared object (ET_DYN): build ${wanted}`);
  else if (report.pieExecutable) problems.push(`this is a position-independent executable, not a shared library: build ${wanted}`);
  return problems;
}
