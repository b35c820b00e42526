// Positioned, bounds-checked reads from an ELF file. Uploads can be 100+ MB, so nothing here ever
// holds the whole file: every table is read on its own, and every read is checked against the file
// size first, so a hostile offset or count becomes an ElfError instead of a short read or a hang.
import { open, type FileHandle } from 'node:fs/promises';
import { limitExceeded, malformed, truncated } from './elf-errors.ts';

export type ElfClass = 32 | 64;
export type Endianness = 'little' | 'big';

// No real module has a single table this large; the cap keeps a hostile upload from making us allocate
// as much memory as its size.
const MAX_READ_BYTES = 64 * 1024 * 1024;

// Decodes fields of one buffer in the file's byte order; `word` is the class-sized address/offset field.
export class ElfFields {
  constructor(
    readonly bytes: Buffer,
    readonly endianness: Endianness,
    readonly elfClass: ElfClass,
  ) {}

  get length(): number {
    return this.bytes.length;
  }

  u8(at: number): number {
    return this.bytes.readUInt8(at);
  }

  u16(at: number): number {
    return this.endianness === 'little' ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.endianness === 'little' ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }

  // Lossy above 2^53 on purpose: such a value is larger than any file, so the bounds checks that every
  // offset and size go through still reject it.
  u64(at: number): number {
    return Number(this.endianness === 'little' ? this.bytes.readBigUInt64LE(at) : this.bytes.readBigUInt64BE(at));
  }

  word(at: number): number {
    return this.elfClass === 64 ? this.u64(at) : this.u32(at);
  }
}

export class ElfFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<ElfFile> {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      return new ElfFile(handle, stats.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  // `what` names the table, for the error message (e.g. "section header table").
  checkRange(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw malformed(`${what} has an impossible offset ${offset} or size ${length}`);
    }
    if (offset + length > this.size) throw truncated(`${what} (offset ${offset}, ${length} bytes)`, offset + length, this.size);
  }

  async read(offset: number, length: number, what: string): Promise<Buffer> {
    this.checkRange(offset, length, what);
    if (length > MAX_READ_BYTES) throw limitExceeded(`${what} is ${length} bytes, more than the ${MAX_READ_BYTES} read at once`);
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw truncated(`${what} (the file shrank while being read)`, offset + length, offset + filled);
      filled += bytesRead;
    }
    return buffer;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

// A string table whose names are decoded on demand. Decoded names are cached by offset and their total
// size is capped: without the cap, a hostile file could point a million symbols at successive offsets
// of one 64 MiB name and make us build terabytes of strings.
export class StringTable {
  private readonly decoded = new Map<number, string>();
  private budget: number;

  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {
    this.budget = 2 * bytes.length + 1024 * 1024;
  }

  at(offset: number, user: string): string {
    const cached = this.decoded.get(offset);
    if (cached !== undefined) return cached;
    if (offset >= this.bytes.length) {
      throw malformed(`${user}: name offset ${offset} is outside the ${this.what} (${this.bytes.length} bytes)`);
    }
    const end = this.bytes.indexOf(0, offset);
    if (end < 0) throw malformed(`${user}: the name at offset ${offset} of the ${this.what} is not NUL-terminated`);
    this.budget -= end - offset;
    if (this.budget < 0) throw limitExceeded(`the names read from the ${this.what} add up to more than twice its size`);
    const name = this.bytes.toString('utf8', offset, end);
    this.decoded.set(offset, name);
    return name;
  }
}
