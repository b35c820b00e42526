// Where a binary came from: its GNU build ID and, for Go-built modules, the Go toolchain version.
import { malformed } from './elf-errors.ts';
import { ElfFields, type ElfFile } from './elf-file.ts';
import { PT_NOTE, SHT_NOTE, readSectionContents, type ElfHeader, type ProgramHeader, type SectionHeader } from './elf-header.ts';

const NT_GNU_BUILD_ID = 3;
const GNU_NOTE_NAME = Buffer.from('GNU\0', 'latin1');

interface NoteRegion {
  offset: number;
  size: number;
  align: number;
}

// Notes are found through PT_NOTE like the loader and `file` do; only files without program headers
// (relocatable objects) fall back to SHT_NOTE sections.
export async function readBuildId(
  file: ElfFile,
  header: ElfHeader,
  programs: ProgramHeader[],
  sections: SectionHeader[],
): Promise<string | null> {
  const regions: NoteRegion[] = programs.length > 0
    ? programs.filter((program) => program.type === PT_NOTE).map((program) => ({ offset: program.offset, size: program.fileSize, align: program.align }))
    : sections.filter((section) => section.type === SHT_NOTE).map((section) => ({ offset: section.offset, size: section.size, align: section.align }));
  for (const region of regions) {
    const fields = new ElfFields(await file.read(region.offset, region.size, 'note segment'), header.endianness, header.elfClass);
    const buildId = findGnuBuildId(fields, region.align === 8 ? 8 : 4);
    if (buildId !== null) return buildId;
  }
  return null;
}

// Each note: namesz u32, descsz u32, type u32, name, descriptor. The descriptor and the next note start
// at `align` boundaries counted from the note's start (so with 8-byte notes the 12-byte header counts).
function findGnuBuildId(fields: ElfFields, align: number): string | null {
  const aligned = (offset: number) => Math.ceil(offset / align) * align;
  for (let at = 0; at + 12 <= fields.length; ) {
    const nameSize = fields.u32(at);
    const descriptorSize = fields.u32(at + 4);
    const nameStart = at + 12;
    const descriptorStart = aligned(nameStart + nameSize);
    if (descriptorStart + descriptorSize > fields.length) throw malformed(`note at byte ${at} of a note segment runs past its end`);
    const name = fields.bytes.subarray(nameStart, nameStart + nameSize);
    if (fields.u32(at + 8) === NT_GNU_BUILD_ID && name.equals(GNU_NOTE_NAME)) {
      return fields.bytes.toString('hex', descriptorStart, descriptorStart + descriptorSize);
    }
    at = aligned(descriptorStart + descriptorSize);
  }
  return null;
}

export interface GoBuildInfo {
  // e.g. "go1.22.3"; null when the toolchain predates the inline format (Go < 1.18).
  goVersion: string | null;
}

const GO_BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const GO_BUILDINFO_HEADER_SIZE = 32;
const GO_BUILDINFO_FLAG_VERSION_INLINE = 0x2;
const MAX_GO_VERSION_LENGTH = 256;

// Go 1.18+ writes a 32-byte header then the version as a uvarint-length-prefixed string; older
// toolchains store pointers into the data segment instead, which are not worth chasing for a label.
export async function readGoBuildInfo(file: ElfFile, sections: SectionHeader[]): Promise<GoBuildInfo | null> {
  const section = sections.find((candidate) => candidate.name === '.go.buildinfo');
  if (!section) return null;
  const readable = { ...section, size: Math.min(section.size, GO_BUILDINFO_HEADER_SIZE + 2 + MAX_GO_VERSION_LENGTH) };
  const bytes = await readSectionContents(file, readable, '.go.buildinfo');
  const inline =
    bytes.length > GO_BUILDINFO_HEADER_SIZE &&
    bytes.subarray(0, GO_BUILDINFO_MAGIC.length).equals(GO_BUILDINFO_MAGIC) &&
    (bytes[GO_BUILDINFO_MAGIC.length + 1] & GO_BUILDINFO_FLAG_VERSION_INLINE) !== 0;
  if (!inline) return { goVersion: null };
  const length = readShortUvarint(bytes, GO_BUILDINFO_HEADER_SIZE);
  if (!length || length.value > MAX_GO_VERSION_LENGTH || length.end + length.value > bytes.length) return { goVersion: null };
  return { goVersion: bytes.toString('utf8', length.end, length.end + length.value) };
}

// A version string is at most a few hundred bytes, so two varint bytes are all that can be valid.
function readShortUvarint(bytes: Buffer, at: number): { value: number; end: number } | null {
  const first = bytes[at];
  if (first === undefined) return null;
  if (first < 0x80) return { value: first, end: at + 1 };
  const second = bytes[at + 1];
  if (second === undefined || second >= 0x80) return null;
  return { value: (first & 0x7f) | (second << 7), end: at + 2 };
}
