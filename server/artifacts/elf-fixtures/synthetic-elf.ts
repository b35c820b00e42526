// Hand-assembled minimal shared objects for classes, byte orders and machines the local gcc cannot
// target, so CI needs no cross toolchain. Layout: ELF header, PT_LOAD (whole file at address 0) and
// PT_DYNAMIC, .dynstr, .dynsym, .dynamic, .shstrtab, section headers.

export interface SyntheticElfSpec {
  elfClass: 32 | 64;
  endianness: 'little' | 'big';
  eMachine: number;
  soname: string;
  needed: string[];
  // Defined GLOBAL FUNC symbols (SHN_ABS, as there is no code).
  exports: string[];
  // DT_FLAGS value, e.g. 0x10 for DF_STATIC_TLS.
  dynamicFlags: number;
  // Only the ELF header: no program or section headers.
  headerOnly?: boolean;
}

const ET_DYN = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHN_ABS = 0xfff1;
const STB_GLOBAL_STT_FUNC = (1 << 4) | 2;
const DT = { NULL: 0, NEEDED: 1, STRTAB: 5, SYMTAB: 6, STRSZ: 10, SYMENT: 11, SONAME: 14, FLAGS: 30 };

function stringTable(strings: string[]): { bytes: Buffer; offsets: Map<string, number> } {
  const offsets = new Map<string, number>();
  const parts = [Buffer.from([0])];
  let size = 1;
  for (const text of strings) {
    if (offsets.has(text)) continue;
    offsets.set(text, size);
    const bytes = Buffer.from(`${text}\0`, 'utf8');
    parts.push(bytes);
    size += bytes.length;
  }
  return { bytes: Buffer.concat(parts), offsets };
}

const align8 = (value: number) => Math.ceil(value / 8) * 8;

export function buildSyntheticElf(spec: SyntheticElfSpec): Buffer {
  const is64 = spec.elfClass === 64;
  const sizes = is64
    ? { header: 64, program: 56, section: 64, symbol: 24, dynamic: 16 }
    : { header: 52, program: 32, section: 40, symbol: 16, dynamic: 8 };
  const dynstr = stringTable([spec.soname, ...spec.needed, ...spec.exports]);
  const shstrtab = stringTable(['.dynstr', '.dynsym', '.dynamic', '.shstrtab']);
  const dynamicEntries: Array<[number, number]> = [
    ...spec.needed.map((name): [number, number] => [DT.NEEDED, dynstr.offsets.get(name) as number]),
    [DT.SONAME, dynstr.offsets.get(spec.soname) as number],
    [DT.FLAGS, spec.dynamicFlags],
  ];

  const programOffset = sizes.header;
  const dynstrOffset = programOffset + 2 * sizes.program;
  const dynsymOffset = align8(dynstrOffset + dynstr.bytes.length);
  const dynsymSize = (spec.exports.length + 1) * sizes.symbol;
  const dynamicOffset = align8(dynsymOffset + dynsymSize);
  dynamicEntries.push([DT.STRTAB, dynstrOffset], [DT.STRSZ, dynstr.bytes.length], [DT.SYMTAB, dynsymOffset], [DT.SYMENT, sizes.symbol], [DT.NULL, 0]);
  const dynamicSize = dynamicEntries.length * sizes.dynamic;
  const shstrtabOffset = dynamicOffset + dynamicSize;
  const sectionOffset = align8(shstrtabOffset + shstrtab.bytes.length);
  const sectionCount = 5;
  const fileSize = spec.headerOnly ? sizes.header : sectionOffset + sectionCount * sizes.section;

  const file = Buffer.alloc(fileSize);
  const little = spec.endianness === 'little';
  const u8 = (at: number, value: number) => file.writeUInt8(value, at);
  const u16 = (at: number, value: number) => (little ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at));
  const u32 = (at: number, value: number) => (little ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at));
  const word = (at: number, value: number) => {
    if (!is64) return u32(at, value);
    if (little) file.writeBigUInt64LE(BigInt(value), at);
    else file.writeBigUInt64BE(BigInt(value), at);
  };

  file.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1], 0);
  u16(16, ET_DYN);
  u16(18, spec.eMachine);
  u32(20, 1);
  const header = is64
    ? { phoff: 32, shoff: 40, ehsize: 52, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62 }
    : { phoff: 28, shoff: 32, ehsize: 40, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50 };
  u16(header.ehsize, sizes.header);
  if (spec.headerOnly) return file;
  word(header.phoff, programOffset);
  word(header.shoff, sectionOffset);
  u16(header.phentsize, sizes.program);
  u16(header.phnum, 2);
  u16(header.shentsize, sizes.section);
  u16(header.shnum, sectionCount);
  u16(header.shstrndx, 4);

  const programHeader = (at: number, type: number, offset: number, size: number) => {
    u32(at, type);
    const fields = is64 ? { offset: 8, vaddr: 16, filesz: 32, memsz: 40 } : { offset: 4, vaddr: 8, filesz: 16, memsz: 20 };
    word(at + fields.offset, offset);
    word(at + fields.vaddr, offset);
    word(at + fields.filesz, size);
    word(at + fields.memsz, size);
  };
  programHeader(programOffset, PT_LOAD, 0, fileSize);
  programHeader(programOffset + sizes.program, PT_DYNAMIC, dynamicOffset, dynamicSize);

  file.set(dynstr.bytes, dynstrOffset);
  spec.exports.forEach((name, index) => {
    const at = dynsymOffset + (index + 1) * sizes.symbol;
    u32(at, dynstr.offsets.get(name) as number);
    u8(at + (is64 ? 4 : 12), STB_GLOBAL_STT_FUNC);
    u16(at + (is64 ? 6 : 14), SHN_ABS);
  });
  dynamicEntries.forEach(([tag, value], index) => {
    word(dynamicOffset + index * sizes.dynamic, tag);
    word(dynamicOffset + index * sizes.dynamic + sizes.dynamic / 2, value);
  });
  file.set(shstrtab.bytes, shstrtabOffset);

  const sectionHeader = (index: number, name: string, type: number, offset: number, size: number, link: number, entrySize: number) => {
    const at = sectionOffset + index * sizes.section;
    const fields = is64 ? { offset: 24, size: 32, link: 40, info: 44, entsize: 56 } : { offset: 16, size: 20, link: 24, info: 28, entsize: 36 };
    u32(at, shstrtab.offsets.get(name) as number);
    u32(at + 4, type);
    word(at + fields.offset, offset);
    word(at + fields.size, size);
    u32(at + fields.link, link);
    // For .dynsym, sh_info is the index of the first non-local symbol.
    if (type === SHT_DYNSYM) u32(at + fields.info, 1);
    word(at + fields.entsize, entrySize);
  };
  sectionHeader(1, '.dynstr', SHT_STRTAB, dynstrOffset, dynstr.bytes.length, 0, 0);
  sectionHeader(2, '.dynsym', SHT_DYNSYM, dynsymOffset, dynsymSize, 1, sizes.symbol);
  sectionHeader(3, '.dynamic', SHT_DYNAMIC, dynamicOffset, dynamicSize, 1, sizes.dynamic);
  sectionHeader(4, '.shstrtab', SHT_STRTAB, shstrtabOffset, shstrtab.bytes.length, 0, 0);
  return file;
}
