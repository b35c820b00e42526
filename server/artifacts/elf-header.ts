// The ELF header, program headers and section headers, for either class and byte order: a 32-bit, a
// big-endian or a foreign-machine file must still be reported so the preflight can say what to rebuild.
import { ElfError, ElfErrorCode, malformed, truncated } from './elf-errors.ts';
import { ElfFields, StringTable, type ElfClass, type ElfFile, type Endianness } from './elf-file.ts';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_NOTE = 4;
export const PT_TLS = 7;

export const SHT_NOBITS = 8;
export const SHT_NOTE = 7;
export const SHT_DYNAMIC = 6;
export const SHT_DYNSYM = 11;
export const SHT_GNU_VERDEF = 0x6ffffffd;
export const SHT_GNU_VERNEED = 0x6ffffffe;
export const SHT_GNU_VERSYM = 0x6fffffff;

export const EM_386 = 3;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

const MACHINE_NAMES: Record<number, string> = {
  0: 'none',
  2: 'sparc',
  [EM_386]: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  [EM_ARM]: 'arm',
  43: 'sparcv9',
  50: 'ia64',
  [EM_X86_64]: 'x86_64',
  [EM_AARCH64]: 'aarch64',
  [EM_RISCV]: 'riscv',
  247: 'bpf',
  258: 'loongarch',
};

export type ElfTypeName = 'ET_NONE' | 'ET_REL' | 'ET_EXEC' | 'ET_DYN' | 'ET_CORE' | 'ET_UNKNOWN';
const TYPE_NAMES: ElfTypeName[] = ['ET_NONE', 'ET_REL', 'ET_EXEC', 'ET_DYN', 'ET_CORE'];

export function machineName(eMachine: number): string {
  return MACHINE_NAMES[eMachine] ?? 'unknown';
}

export function typeName(eType: number): ElfTypeName {
  return TYPE_NAMES[eType] ?? 'ET_UNKNOWN';
}

export interface ElfHeader {
  elfClass: ElfClass;
  endianness: Endianness;
  osAbi: number;
  eType: number;
  eMachine: number;
  programHeaderOffset: number;
  programHeaderCount: number;
  programHeaderEntrySize: number;
  sectionHeaderOffset: number;
  sectionHeaderCount: number;
  sectionHeaderEntrySize: number;
  sectionNameTableIndex: number;
}

export interface ProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  fileSize: number;
  memorySize: number;
  align: number;
}

export interface SectionHeader {
  name: string;
  nameOffset: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entrySize: number;
}

const HEADER_SIZE: Record<ElfClass, number> = { 32: 52, 64: 64 };
const PROGRAM_HEADER_SIZE: Record<ElfClass, number> = { 32: 32, 64: 56 };
const SECTION_HEADER_SIZE: Record<ElfClass, number> = { 32: 40, 64: 64 };

// Escape values of e_phnum / e_shnum / e_shstrndx meaning "the real value is in section header 0".
const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;

export async function readElfHeader(file: ElfFile): Promise<ElfHeader> {
  const ident = await file.read(0, Math.min(file.size, 64), 'ELF header');
  if (ident.length < ELF_MAGIC.length || !ident.subarray(0, ELF_MAGIC.length).equals(ELF_MAGIC)) {
    const start = ident.subarray(0, 4).toString('hex') || 'nothing (empty file)';
    throw new ElfError(
      ElfErrorCode.NOT_ELF,
      `not an ELF file: it starts with ${start}, not 7f454c46 ("\\x7fELF"); upload a compiled shared object (.so), not a source, archive or script`,
    );
  }
  if (ident.length < 6) throw truncated('ELF identification', 16, file.size);
  const elfClass: ElfClass | undefined = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : undefined;
  if (!elfClass) {
    throw new ElfError(ElfErrorCode.UNSUPPORTED_CLASS, `ELF class byte is ${ident[4]}, neither 1 (32-bit) nor 2 (64-bit): the file is corrupt or not a supported ELF`);
  }
  const endianness: Endianness | undefined = ident[5] === 1 ? 'little' : ident[5] === 2 ? 'big' : undefined;
  if (!endianness) {
    throw new ElfError(ElfErrorCode.UNSUPPORTED_ENCODING, `ELF data encoding byte is ${ident[5]}, neither 1 (little-endian) nor 2 (big-endian): the file is corrupt or not a supported ELF`);
  }
  if (ident.length < HEADER_SIZE[elfClass]) throw truncated(`${elfClass}-bit ELF header`, HEADER_SIZE[elfClass], file.size);

  const fields = new ElfFields(ident, endianness, elfClass);
  const at = elfClass === 64
    ? { phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62 }
    : { phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50 };
  const header: ElfHeader = {
    elfClass,
    endianness,
    osAbi: ident[7],
    eType: fields.u16(16),
    eMachine: fields.u16(18),
    programHeaderOffset: fields.word(at.phoff),
    programHeaderCount: fields.u16(at.phnum),
    programHeaderEntrySize: fields.u16(at.phentsize),
    sectionHeaderOffset: fields.word(at.shoff),
    sectionHeaderCount: fields.u16(at.shnum),
    sectionHeaderEntrySize: fields.u16(at.shentsize),
    sectionNameTableIndex: fields.u16(at.shstrndx),
  };
  await applyExtendedNumbering(file, header);
  return header;
}

// Files with 65280+ sections (or program headers) keep the real counts in section header 0.
async function applyExtendedNumbering(file: ElfFile, header: ElfHeader): Promise<void> {
  const needsSectionZero =
    header.sectionHeaderOffset !== 0 &&
    (header.sectionHeaderCount === 0 || header.sectionNameTableIndex === SHN_XINDEX || header.programHeaderCount === PN_XNUM);
  if (!needsSectionZero) return;
  checkEntrySize(header.sectionHeaderEntrySize, SECTION_HEADER_SIZE[header.elfClass], 'e_shentsize');
  const zero = sectionFields(header, await file.read(header.sectionHeaderOffset, SECTION_HEADER_SIZE[header.elfClass], 'section header 0'));
  if (header.sectionHeaderCount === 0) header.sectionHeaderCount = zero.size;
  if (header.sectionNameTableIndex === SHN_XINDEX) header.sectionNameTableIndex = zero.link;
  if (header.programHeaderCount === PN_XNUM) header.programHeaderCount = zero.info;
}

function checkEntrySize(actual: number, expected: number, field: string): void {
  if (actual < expected) throw malformed(`${field} is ${actual} bytes, smaller than the ${expected} an entry of this ELF class needs`);
}

export async function readProgramHeaders(file: ElfFile, header: ElfHeader): Promise<ProgramHeader[]> {
  const count = header.programHeaderCount;
  if (count === 0) return [];
  const entrySize = header.programHeaderEntrySize;
  checkEntrySize(entrySize, PROGRAM_HEADER_SIZE[header.elfClass], 'e_phentsize');
  const table = await file.read(header.programHeaderOffset, count * entrySize, `program header table (${count} entries)`);
  const fields = new ElfFields(table, header.endianness, header.elfClass);
  const is64 = header.elfClass === 64;
  const headers: ProgramHeader[] = [];
  for (let base = 0; base < table.length; base += entrySize) {
    headers.push({
      type: fields.u32(base),
      offset: fields.word(base + (is64 ? 8 : 4)),
      vaddr: fields.word(base + (is64 ? 16 : 8)),
      fileSize: fields.word(base + (is64 ? 32 : 16)),
      memorySize: fields.word(base + (is64 ? 40 : 20)),
      align: fields.word(base + (is64 ? 48 : 28)),
    });
  }
  return headers;
}

type UnnamedSection = Omit<SectionHeader, 'name'>;

function sectionFields(header: ElfHeader, entry: Buffer): UnnamedSection {
  const fields = new ElfFields(entry, header.endianness, header.elfClass);
  const is64 = header.elfClass === 64;
  return {
    nameOffset: fields.u32(0),
    type: fields.u32(4),
    offset: fields.word(is64 ? 24 : 16),
    size: fields.word(is64 ? 32 : 20),
    link: fields.u32(is64 ? 40 : 24),
    info: fields.u32(is64 ? 44 : 28),
    align: fields.word(is64 ? 48 : 32),
    entrySize: fields.word(is64 ? 56 : 36),
  };
}

export async function readSectionHeaders(file: ElfFile, header: ElfHeader): Promise<SectionHeader[]> {
  const count = header.sectionHeaderCount;
  if (count === 0 || header.sectionHeaderOffset === 0) return [];
  const entrySize = header.sectionHeaderEntrySize;
  checkEntrySize(entrySize, SECTION_HEADER_SIZE[header.elfClass], 'e_shentsize');
  const table = await file.read(header.sectionHeaderOffset, count * entrySize, `section header table (${count} entries of ${entrySize} bytes)`);
  const unnamed: UnnamedSection[] = [];
  for (let base = 0; base < table.length; base += entrySize) unnamed.push(sectionFields(header, table.subarray(base, base + entrySize)));

  const nameIndex = header.sectionNameTableIndex;
  if (nameIndex === 0) return unnamed.map((section) => ({ ...section, name: '' }));
  if (nameIndex >= count) throw malformed(`e_shstrndx is ${nameIndex} but there are only ${count} sections`);
  const names = new StringTable(await readSectionContents(file, unnamed[nameIndex], 'section name table'), 'section name table');
  return unnamed.map((section, index) => ({ ...section, name: names.at(section.nameOffset, `section ${index}`) }));
}

export function readSectionContents(file: ElfFile, section: Pick<SectionHeader, 'type' | 'offset' | 'size'>, what: string): Promise<Buffer> {
  if (section.type === SHT_NOBITS) return Promise.resolve(Buffer.alloc(0));
  return file.read(section.offset, section.size, what);
}
