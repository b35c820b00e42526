// Dynamic symbols (.dynsym) with their GNU symbol versions (.gnu.version, .gnu.version_d, .gnu.version_r).
// Found through section headers, as nm -D does, so the result can be checked against binutils.
import { limitExceeded, malformed } from './elf-errors.ts';
import { ElfFields, StringTable, type ElfFile } from './elf-file.ts';
import {
  SHT_DYNSYM,
  SHT_GNU_VERDEF,
  SHT_GNU_VERNEED,
  SHT_GNU_VERSYM,
  readSectionContents,
  type ElfHeader,
  type SectionHeader,
} from './elf-header.ts';

export type ElfSymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'GNU_IFUNC' | 'UNKNOWN';
export type ElfSymbolBinding = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'GNU_UNIQUE' | 'UNKNOWN';
export type ElfSymbolVisibility = 'DEFAULT' | 'INTERNAL' | 'HIDDEN' | 'PROTECTED';

export interface ElfSymbol {
  name: string;
  // GNU version name (e.g. "GLIBC_2.34"); null for unversioned symbols and the base (*global*) version.
  version: string | null;
  // A non-default version: only callers asking for exactly that version bind to it (binutils prints
  // name@VER for these and for undefined references, name@@VER for the default one).
  versionHidden: boolean;
  type: ElfSymbolType;
  binding: ElfSymbolBinding;
  visibility: ElfSymbolVisibility;
  defined: boolean;
  // st_shndx: 0 = undefined, 0xfff1 = SHN_ABS, 0xfff2 = SHN_COMMON.
  sectionIndex: number;
}

const SYMBOL_TYPES: Record<number, ElfSymbolType> = { 0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE', 5: 'COMMON', 6: 'TLS', 10: 'GNU_IFUNC' };
const SYMBOL_BINDINGS: Record<number, ElfSymbolBinding> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'GNU_UNIQUE' };
const SYMBOL_VISIBILITIES: ElfSymbolVisibility[] = ['DEFAULT', 'INTERNAL', 'HIDDEN', 'PROTECTED'];

const SHN_UNDEF = 0;
const VERSYM_HIDDEN = 0x8000;
const VERSYM_INDEX = 0x7fff;
const VER_NDX_LOCAL = 0;
const VER_NDX_GLOBAL = 1;
const VER_FLG_BASE = 0x1;

// libtorch-sized libraries export a few hundred thousand symbols; beyond this the input is hostile.
const MAX_DYNAMIC_SYMBOLS = 1_000_000;

interface SymbolVersions {
  // .gnu.version: one 16-bit version index per dynamic symbol.
  indices: ElfFields;
  namesByIndex: Map<number, string>;
  baseIsUnversioned: boolean;
}

export async function readDynamicSymbols(file: ElfFile, header: ElfHeader, sections: SectionHeader[]): Promise<ElfSymbol[]> {
  const dynsymIndex = sections.findIndex((section) => section.type === SHT_DYNSYM);
  if (dynsymIndex < 0) return [];
  const dynsym = sections[dynsymIndex];
  const entrySize = header.elfClass === 64 ? 24 : 16;
  if (dynsym.entrySize !== entrySize) throw malformed(`.dynsym entries are ${dynsym.entrySize} bytes, expected ${entrySize}`);
  if (dynsym.size % entrySize !== 0) throw malformed(`.dynsym is ${dynsym.size} bytes, not a whole number of ${entrySize}-byte symbols`);
  file.checkRange(dynsym.offset, dynsym.size, '.dynsym');
  const count = dynsym.size / entrySize;
  if (count > MAX_DYNAMIC_SYMBOLS) throw limitExceeded(`.dynsym has ${count} symbols, more than ${MAX_DYNAMIC_SYMBOLS}`);

  const names = await readLinkedStrings(file, sections, dynsym, '.dynsym');
  const versions = await readSymbolVersions(file, header, sections, dynsymIndex, count);
  const table = new ElfFields(await readSectionContents(file, dynsym, '.dynsym'), header.endianness, header.elfClass);
  const is64 = header.elfClass === 64;
  const symbols: ElfSymbol[] = [];
  // Entry 0 is the reserved null symbol.
  for (let index = 1; index < count; index++) {
    const at = index * entrySize;
    const info = table.u8(at + (is64 ? 4 : 12));
    const sectionIndex = table.u16(at + (is64 ? 6 : 14));
    const name = names.at(table.u32(at), `dynamic symbol ${index}`);
    symbols.push({
      name,
      ...versionOf(versions, index, name),
      type: SYMBOL_TYPES[info & 0xf] ?? 'UNKNOWN',
      binding: SYMBOL_BINDINGS[info >> 4] ?? 'UNKNOWN',
      visibility: SYMBOL_VISIBILITIES[table.u8(at + (is64 ? 5 : 13)) & 0x3],
      defined: sectionIndex !== SHN_UNDEF,
      sectionIndex,
    });
  }
  return symbols;
}

function versionOf(versions: SymbolVersions | null, index: number, name: string): Pick<ElfSymbol, 'version' | 'versionHidden'> {
  if (!versions) return { version: null, versionHidden: false };
  const raw = versions.indices.u16(index * 2);
  const versionIndex = raw & VERSYM_INDEX;
  const versionHidden = (raw & VERSYM_HIDDEN) !== 0;
  if (versionIndex === VER_NDX_LOCAL) return { version: null, versionHidden };
  if (versionIndex === VER_NDX_GLOBAL && versions.baseIsUnversioned) return { version: null, versionHidden };
  const version = versions.namesByIndex.get(versionIndex);
  if (version === undefined) throw malformed(`dynamic symbol "${name}" has version index ${versionIndex}, which no version definition or requirement declares`);
  return { version, versionHidden };
}

async function readLinkedStrings(file: ElfFile, sections: SectionHeader[], section: SectionHeader, what: string): Promise<StringTable> {
  const strings = sections[section.link];
  if (section.link === 0 || !strings) throw malformed(`${what} links to string table section ${section.link}, which does not exist`);
  const tableName = `${strings.name || 'string table'} (for ${what})`;
  return new StringTable(await readSectionContents(file, strings, tableName), tableName);
}

async function readSymbolVersions(
  file: ElfFile,
  header: ElfHeader,
  sections: SectionHeader[],
  dynsymIndex: number,
  symbolCount: number,
): Promise<SymbolVersions | null> {
  const versym = sections.find((section) => section.type === SHT_GNU_VERSYM && section.link === dynsymIndex);
  const verdef = sections.find((section) => section.type === SHT_GNU_VERDEF);
  const verneed = sections.find((section) => section.type === SHT_GNU_VERNEED);
  // Like binutils: a version index table with neither definitions nor requirements means nothing.
  if (!versym || (!verdef && !verneed)) return null;
  if (versym.size < symbolCount * 2) throw malformed(`.gnu.version has ${versym.size} bytes, too few for ${symbolCount} symbols`);

  const namesByIndex = new Map<number, string>();
  let baseIsUnversioned = true;
  if (verneed) await readVersionRequirements(file, header, sections, verneed, namesByIndex);
  if (verdef) {
    const baseFlags = await readVersionDefinitions(file, header, sections, verdef, namesByIndex);
    baseIsUnversioned = baseFlags === undefined || (baseFlags & VER_FLG_BASE) !== 0;
  }
  const indices = new ElfFields(await readSectionContents(file, versym, '.gnu.version'), header.endianness, header.elfClass);
  return { indices, namesByIndex, baseIsUnversioned };
}

// Walks a chain of records linked by relative "next" offsets. The step cap stops a hostile chain
// from looping: real records are at least `recordSize` bytes apart, so there can be no more steps.
function* walkChain(
  fields: ElfFields,
  start: number,
  maxRecords: number,
  recordSize: number,
  nextAt: number,
  what: string,
): Generator<number> {
  const maxSteps = Math.min(maxRecords, Math.floor(fields.length / recordSize));
  let at = start;
  for (let step = 0; step < maxSteps; step++) {
    if (at + recordSize > fields.length) throw malformed(`${what} record at byte ${at} runs past the end of its section`);
    yield at;
    const next = fields.u32(at + nextAt);
    if (next === 0) return;
    at += next;
  }
}

// .gnu.version_d: Verdef { vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32,
// vd_next u32 } whose first Verdaux { vda_name u32, vda_next u32 } names the version. Returns the flags
// of version index 1 (the base), if defined.
async function readVersionDefinitions(
  file: ElfFile,
  header: ElfHeader,
  sections: SectionHeader[],
  verdef: SectionHeader,
  namesByIndex: Map<number, string>,
): Promise<number | undefined> {
  const strings = await readLinkedStrings(file, sections, verdef, '.gnu.version_d');
  const fields = new ElfFields(await readSectionContents(file, verdef, '.gnu.version_d'), header.endianness, header.elfClass);
  let baseFlags: number | undefined;
  for (const at of walkChain(fields, 0, verdef.info, 20, 16, '.gnu.version_d')) {
    const flags = fields.u16(at + 2);
    const versionIndex = fields.u16(at + 4) & VERSYM_INDEX;
    if (versionIndex === VER_NDX_GLOBAL) baseFlags = flags;
    if (fields.u16(at + 6) === 0) continue;
    const aux = at + fields.u32(at + 12);
    if (aux + 8 > fields.length) throw malformed(`.gnu.version_d auxiliary record at byte ${aux} runs past the end of its section`);
    namesByIndex.set(versionIndex, strings.at(fields.u32(aux), '.gnu.version_d'));
  }
  return baseFlags;
}

// .gnu.version_r: Verneed { vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32 } per needed
// library, each with vn_cnt Vernaux { vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32 }.
async function readVersionRequirements(
  file: ElfFile,
  header: ElfHeader,
  sections: SectionHeader[],
  verneed: SectionHeader,
  namesByIndex: Map<number, string>,
): Promise<void> {
  const strings = await readLinkedStrings(file, sections, verneed, '.gnu.version_r');
  const fields = new ElfFields(await readSectionContents(file, verneed, '.gnu.version_r'), header.endianness, header.elfClass);
  let auxiliaryBudget = Math.floor(fields.length / 16);
  for (const at of walkChain(fields, 0, verneed.info, 16, 12, '.gnu.version_r')) {
    const auxiliaryCount = Math.min(fields.u16(at + 2), auxiliaryBudget);
    auxiliaryBudget -= auxiliaryCount;
    const vernaux = walkChain(fields, at + fields.u32(at + 8), auxiliaryCount, 16, 12, '.gnu.version_r');
    for (const aux of vernaux) {
      namesByIndex.set(fields.u16(aux + 6) & VERSYM_INDEX, strings.at(fields.u32(aux + 8), '.gnu.version_r'));
    }
  }
}
