// Uploads are untrusted: every malformed input must end in an ElfError with a code, never in another
// exception, a hang or an allocation the file's size does not bound.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ElfError, ElfErrorCode, inspectElf } from './elf.ts';
import { execFileAsync } from './elf-fixtures/compile.ts';

let dir: string;
let compiledModule: Buffer;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotplane-elf-hostile-'));
  const source = join(dir, 'module.c');
  await writeFile(source, '__thread int hp_slot;\nint hp_module_init(void) { return hp_slot; }\nint hp_module_abi = 3;\n');
  await execFileAsync('gcc', ['-shared', '-fPIC', '-Wl,-soname,libhp-hostile.so', '-o', join(dir, 'module.so'), source]);
  compiledModule = await readFile(join(dir, 'module.so'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function inspectBytes(bytes: Buffer): Promise<unknown> {
  const path = join(dir, `input-${counter++}.bin`);
  await writeFile(path, bytes);
  return inspectElf(path);
}

async function assertRejected(bytes: Buffer, code: ElfErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(inspectBytes(bytes), (error: unknown) => {
    assert.ok(error instanceof ElfError, `expected an ElfError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

// ELF64 little-endian header fields of the compiled module.
const E_PHOFF = 32;
const E_SHOFF = 40;
const E_PHNUM = 56;
const E_SHENTSIZE = 58;
const E_SHNUM = 60;
const E_SHSTRNDX = 62;
const SECTION_HEADER_SIZE = 64;

function patched(edit: (bytes: Buffer) => void): Buffer {
  const copy = Buffer.from(compiledModule);
  edit(copy);
  return copy;
}

// File offset of the first section header of `type` in the compiled compiledModule.
function sectionHeaderAt(bytes: Buffer, type: number): number {
  const tableOffset = Number(bytes.readBigUInt64LE(E_SHOFF));
  for (let index = 0; index < bytes.readUInt16LE(E_SHNUM); index++) {
    const at = tableOffset + index * SECTION_HEADER_SIZE;
    if (bytes.readUInt32LE(at + 4) === type) return at;
  }
  throw new Error(`no section of type ${type}`);
}
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF_OR_VERSYM = [0x6fffffff, 0x6ffffffe];

describe('not an ELF or cut short', () => {
  test('a text file is NOT_ELF, with what to upload instead', async () => {
    await assertRejected(Buffer.from('#!/bin/sh\necho this is not a compiledModule\n'), ElfErrorCode.NOT_ELF, /not an ELF file.*upload a compiled shared object/);
  });

  test('an empty file is NOT_ELF', async () => {
    await assertRejected(Buffer.alloc(0), ElfErrorCode.NOT_ELF, /empty file/);
  });

  test('the first 40 bytes of a real compiledModule are TRUNCATED', async () => {
    await assertRejected(compiledModule.subarray(0, 40), ElfErrorCode.TRUNCATED, /64-bit ELF header ends at byte 64 but the file has only 40 bytes/);
  });

  test('a compiledModule cut in the middle of its section header table is TRUNCATED', async () => {
    const tableOffset = Number(compiledModule.readBigUInt64LE(E_SHOFF));
    const tableSize = compiledModule.readUInt16LE(E_SHNUM) * SECTION_HEADER_SIZE;
    assert.equal(tableOffset + tableSize, compiledModule.length, 'gcc puts the section header table last');
    await assertRejected(compiledModule.subarray(0, tableOffset + tableSize / 2), ElfErrorCode.TRUNCATED, /section header table.*truncated/);
  });

  test('an unknown EI_CLASS or EI_DATA is unsupported', async () => {
    await assertRejected(patched((bytes) => (bytes[4] = 3)), ElfErrorCode.UNSUPPORTED_CLASS);
    await assertRejected(patched((bytes) => (bytes[5] = 0)), ElfErrorCode.UNSUPPORTED_ENCODING);
  });
});

describe('absurd counts and offsets', () => {
  const cases: Array<[string, (bytes: Buffer) => void, ElfErrorCode]> = [
    ['e_shnum 0xffff', (bytes) => bytes.writeUInt16LE(0xffff, E_SHNUM), ElfErrorCode.TRUNCATED],
    ['e_shoff past the end', (bytes) => bytes.writeBigUInt64LE(1n << 40n, E_SHOFF), ElfErrorCode.TRUNCATED],
    ['e_shoff 2^64 - 1 with e_shnum 0xffff', (bytes) => {
      bytes.writeBigUInt64LE(2n ** 64n - 1n, E_SHOFF);
      bytes.writeUInt16LE(0xffff, E_SHNUM);
    }, ElfErrorCode.MALFORMED],
    ['e_phoff past the end', (bytes) => bytes.writeBigUInt64LE(BigInt(compiledModule.length), E_PHOFF), ElfErrorCode.TRUNCATED],
    ['e_phnum 0xfffe', (bytes) => bytes.writeUInt16LE(0xfffe, E_PHNUM), ElfErrorCode.TRUNCATED],
    ['e_shentsize smaller than a section header', (bytes) => bytes.writeUInt16LE(8, E_SHENTSIZE), ElfErrorCode.MALFORMED],
    ['e_shstrndx beyond the section count', (bytes) => bytes.writeUInt16LE(5000, E_SHSTRNDX), ElfErrorCode.MALFORMED],
    ['e_shnum 0 with an extended count of 2^32 - 1 in section 0', (bytes) => {
      bytes.writeUInt16LE(0, E_SHNUM);
      bytes.writeBigUInt64LE(0xffffffffn, Number(bytes.readBigUInt64LE(E_SHOFF)) + 32);
    }, ElfErrorCode.TRUNCATED],
    ['.dynsym size past the end', (bytes) => {
      bytes.writeBigUInt64LE(24n * 10_000_000n, sectionHeaderAt(bytes, SHT_DYNSYM) + 32);
    }, ElfErrorCode.TRUNCATED],
    ['.dynsym entries of the wrong size', (bytes) => bytes.writeBigUInt64LE(7n, sectionHeaderAt(bytes, SHT_DYNSYM) + 56), ElfErrorCode.MALFORMED],
  ];
  for (const [label, edit, code] of cases) {
    test(`${label}: ${code}`, async () => {
      await assertRejected(patched(edit), code);
    });
  }

  test('symbol names pointing outside the string table are MALFORMED', async () => {
    const bytes = patched(() => {});
    const dynsym = sectionHeaderAt(bytes, SHT_DYNSYM);
    const firstSymbol = Number(bytes.readBigUInt64LE(dynsym + 24)) + 24;
    bytes.writeUInt32LE(0xfffffff0, firstSymbol);
    await assertRejected(bytes, ElfErrorCode.MALFORMED, /name offset 4294967280 is outside/);
  });

  test('a symbol table too large to be real is LIMIT_EXCEEDED, before it is read', async () => {
    const path = join(dir, 'huge-dynsym.so');
    await writeFile(path, patched((bytes) => {
      const dynsym = sectionHeaderAt(bytes, SHT_DYNSYM);
      bytes.writeBigUInt64LE(4096n, dynsym + 24);
      bytes.writeBigUInt64LE(24n * 2_000_000n, dynsym + 32);
    }));
    await truncate(path, 4096 + 24 * 2_000_000 + 1);
    await assert.rejects(inspectElf(path), (error: unknown) => error instanceof ElfError && error.code === ElfErrorCode.LIMIT_EXCEEDED);
  });
});

// Deterministic PRNG (mulberry32) so a failure reproduces.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('mutated modules', () => {
  test('random byte edits of headers and tables yield a report or an ElfError, nothing else', async () => {
    const next = random(0x5eed);
    const tableOffset = Number(compiledModule.readBigUInt64LE(E_SHOFF));
    const versionSections = SHT_GNU_VERDEF_OR_VERSYM.map((type) => Number(compiledModule.readBigUInt64LE(sectionHeaderAt(compiledModule, type) + 24)));
    // Where the parser looks: ELF/program headers and the dynamic tables near the start, version
    // tables, and the section header table at the end.
    const regions: Array<[number, number]> = [[0, 1024], [tableOffset, compiledModule.length], ...versionSections.map((at): [number, number] => [at, at + 64])];
    const outcomes = { reported: 0, rejected: 0 };
    for (let round = 0; round < 400; round++) {
      const bytes = Buffer.from(compiledModule);
      for (let edit = 1 + Math.floor(next() * 4); edit > 0; edit--) {
        const [start, end] = regions[Math.floor(next() * regions.length)];
        bytes[start + Math.floor(next() * (end - start))] = Math.floor(next() * 256);
      }
      try {
        await inspectBytes(bytes);
        outcomes.reported++;
      } catch (error) {
        assert.ok(error instanceof ElfError, `round ${round}: ${(error as Error).stack}`);
        outcomes.rejected++;
      }
    }
    assert.ok(outcomes.rejected > 20 && outcomes.reported > 20, JSON.stringify(outcomes));
  });
});
