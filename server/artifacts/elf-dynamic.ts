// The dynamic section, read the way the dynamic loader reads it: from PT_DYNAMIC, with its strings found
// through DT_STRTAB's address, so a module with stripped section headers is still understood.
import { limitExceeded, malformed } from './elf-errors.ts';
import { ElfFields, StringTable, type ElfFile } from './elf-file.ts';
import {
  EM_386,
  EM_AARCH64,
  EM_ARM,
  EM_RISCV,
  EM_X86_64,
  PT_DYNAMIC,
  PT_LOAD,
  SHT_DYNAMIC,
  readSectionContents,
  type ElfHeader,
  type ProgramHeader,
  type SectionHeader,
} from './elf-header.ts';

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_RELA = 7;
const DT_RELASZ = 8;
const DT_RELAENT = 9;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_REL = 17;
const DT_RELSZ = 18;
const DT_RELENT = 19;
const DT_RUNPATH = 29;
const DT_FLAGS = 30;
const DT_FLAGS_1 = 0x6ffffffb;

const DF_STATIC_TLS = 0x10;
const DF_1_PIE = 0x08000000;

const STRING_TAGS = new Set([DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH]);
const MAX_STRING_ENTRIES = 4096;

export interface DynamicInfo {
  soname: string | null;
  needed: string[];
  rpath: string[];
  runpath: string[];
  staticTlsFlag: boolean;
  pieExecutable: boolean;
  // Last value of each non-string tag, e.g. the relocation table addresses.
  values: Map<number, number>;
}

interface DynamicTableLocation {
  offset: number;
  size: number;
  // Only when found through section headers (no program headers): its sh_link string table.
  stringSection?: SectionHeader;
}

function locateDynamicTable(programs: ProgramHeader[], sections: SectionHeader[]): DynamicTableLocation | null {
  const segment = programs.find((program) => program.type === PT_DYNAMIC);
  if (segment) return { offset: segment.offset, size: segment.fileSize };
  const section = sections.find((candidate) => candidate.type === SHT_DYNAMIC);
  if (!section) return null;
  if (section.link >= sections.length) throw malformed(`.dynamic links to string table section ${section.link}, which does not exist`);
  return { offset: section.offset, size: section.size, stringSection: sections[section.link] };
}

// Maps a virtual address (as stored in DT_* entries) to a file offset through the PT_LOAD segments.
function fileOffsetOf(programs: ProgramHeader[], address: number, length: number, what: string): number {
  for (const program of programs) {
    if (program.type === PT_LOAD && address >= program.vaddr && address + length <= program.vaddr + program.fileSize) {
      return program.offset + (address - program.vaddr);
    }
  }
  throw malformed(`${what} (address 0x${address.toString(16)}, ${length} bytes) is not inside the file part of any loadable segment`);
}

export async function readDynamicInfo(
  file: ElfFile,
  header: ElfHeader,
  programs: ProgramHeader[],
  sections: SectionHeader[],
): Promise<DynamicInfo | null> {
  const location = locateDynamicTable(programs, sections);
  if (!location) return null;
  const fields = new ElfFields(await file.read(location.offset, location.size, 'dynamic section'), header.endianness, header.elfClass);
  const entrySize = header.elfClass === 64 ? 16 : 8;
  const values = new Map<number, number>();
  const stringEntries: Array<{ tag: number; offset: number }> = [];
  for (let at = 0; at + entrySize <= fields.length; at += entrySize) {
    // d_tag is signed, but every tag read here is a small positive number.
    const tag = fields.word(at);
    if (tag === DT_NULL) break;
    const value = fields.word(at + entrySize / 2);
    if (STRING_TAGS.has(tag)) stringEntries.push({ tag, offset: value });
    else values.set(tag, value);
  }
  if (stringEntries.length > MAX_STRING_ENTRIES) {
    throw limitExceeded(`the dynamic section has ${stringEntries.length} DT_NEEDED/DT_SONAME/DT_RPATH/DT_RUNPATH entries, more than ${MAX_STRING_ENTRIES}`);
  }

  const info: DynamicInfo = {
    soname: null,
    needed: [],
    rpath: [],
    runpath: [],
    staticTlsFlag: ((values.get(DT_FLAGS) ?? 0) & DF_STATIC_TLS) !== 0,
    pieExecutable: ((values.get(DT_FLAGS_1) ?? 0) & DF_1_PIE) !== 0,
    values,
  };
  if (stringEntries.length === 0) return info;
  const strings = await readDynamicStrings(file, programs, location, values);
  for (const { tag, offset } of stringEntries) {
    const text = strings.at(offset, 'dynamic section entry');
    if (tag === DT_NEEDED) info.needed.push(text);
    else if (tag === DT_SONAME) info.soname = text;
    else if (tag === DT_RPATH) info.rpath = splitSearchPath(text);
    else info.runpath = splitSearchPath(text);
  }
  return info;
}

function splitSearchPath(text: string): string[] {
  return text.split(':').filter((directory) => directory !== '');
}

async function readDynamicStrings(
  file: ElfFile,
  programs: ProgramHeader[],
  location: DynamicTableLocation,
  values: Map<number, number>,
): Promise<StringTable> {
  const what = 'dynamic string table';
  if (location.stringSection) return new StringTable(await readSectionContents(file, location.stringSection, what), what);
  const address = values.get(DT_STRTAB);
  const size = values.get(DT_STRSZ);
  if (address === undefined || size === undefined) throw malformed('the dynamic section names libraries but has no DT_STRTAB/DT_STRSZ');
  return new StringTable(await file.read(fileOffsetOf(programs, address, size, 'DT_STRTAB'), size, what), what);
}

// Dynamic relocations that only resolve against the static TLS block (initial-exec / local-exec).
const INITIAL_EXEC_TLS_RELOCATIONS: Record<number, number[]> = {
  [EM_X86_64]: [18 /* R_X86_64_TPOFF64 */, 23 /* R_X86_64_TPOFF32 */],
  [EM_386]: [14 /* R_386_TLS_TPOFF */, 37 /* R_386_TLS_TPOFF32 */],
  [EM_AARCH64]: [1030 /* R_AARCH64_TLS_TPREL64 */],
  [EM_ARM]: [19 /* R_ARM_TLS_TPOFF32 */],
  [EM_RISCV]: [10 /* R_RISCV_TLS_TPREL32 */, 11 /* R_RISCV_TLS_TPREL64 */],
};

const RELOCATION_CHUNK_BYTES = 1024 * 1024;

// Fallback for linkers that do not set DF_STATIC_TLS: scans DT_RELA and DT_REL in bounded chunks.
export async function hasInitialExecTlsRelocation(
  file: ElfFile,
  header: ElfHeader,
  programs: ProgramHeader[],
  dynamic: DynamicInfo,
): Promise<boolean> {
  const tlsTypes = INITIAL_EXEC_TLS_RELOCATIONS[header.eMachine];
  if (!tlsTypes) return false;
  const is64 = header.elfClass === 64;
  const tables = [
    { what: 'DT_RELA', address: dynamic.values.get(DT_RELA), size: dynamic.values.get(DT_RELASZ), entrySize: dynamic.values.get(DT_RELAENT) ?? (is64 ? 24 : 12) },
    { what: 'DT_REL', address: dynamic.values.get(DT_REL), size: dynamic.values.get(DT_RELSZ), entrySize: dynamic.values.get(DT_RELENT) ?? (is64 ? 16 : 8) },
  ];
  for (const { what, address, size, entrySize } of tables) {
    if (address === undefined || !size) continue;
    if (entrySize < (is64 ? 16 : 8)) throw malformed(`${what} entries are ${entrySize} bytes, too small for a relocation`);
    const offset = fileOffsetOf(programs, address, size, what);
    const count = Math.floor(size / entrySize);
    const entriesPerChunk = Math.max(1, Math.floor(RELOCATION_CHUNK_BYTES / entrySize));
    for (let first = 0; first < count; first += entriesPerChunk) {
      const chunkCount = Math.min(entriesPerChunk, count - first);
      const chunk = await file.read(offset + first * entrySize, chunkCount * entrySize, `${what} relocations`);
      const fields = new ElfFields(chunk, header.endianness, header.elfClass);
      for (let at = 0; at < chunk.length; at += entrySize) {
        if (tlsTypes.includes(relocationType(fields, at))) return true;
      }
    }
  }
  return false;
}

// r_info follows r_offset; the type is its low 32 bits (ELF64) or low byte (ELF32).
function relocationType(fields: ElfFields, at: number): number {
  if (fields.elfClass === 32) return fields.u32(at + 4) & 0xff;
  return fields.u32(at + (fields.endianness === 'little' ? 8 : 12));
}
