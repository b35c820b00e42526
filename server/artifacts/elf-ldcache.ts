// /etc/ld.so.cache, the table ldconfig builds for the dynamic loader. Only the "glibc-ld.so.cache1.1"
// format is read: it is the only one glibc has written since 2.32; another format reads as empty, so
// resolution falls through to the default directories like a loader without a cache would.
import { readFile, stat } from 'node:fs/promises';

export const DEFAULT_LD_SO_CACHE_PATH = '/etc/ld.so.cache';

export interface LdSoCacheEntry {
  name: string;
  path: string;
  // FLAG_* bits: library type in the low byte (3 = ELF libc6), required architecture in the next.
  flags: number;
  // Entries under glibc-hwcaps/ subdirectories (CPU-specific builds) have a non-zero hwcap.
  hasHwcap: boolean;
}

const MAGIC = Buffer.from('glibc-ld.so.cache1.1', 'latin1');
// magic[17] version[3] nlibs u32, len_strings u32, flags u8, pad[3], extension_offset u32, unused u32[3]
const HEADER_SIZE = 48;
// flags i32, key u32, value u32, osversion u32, hwcap u64; key and value are offsets from the file start.
const ENTRY_SIZE = 24;
const HEADER_FLAG_BIG_ENDIAN = 3;
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

export function parseLdSoCache(bytes: Buffer): LdSoCacheEntry[] {
  if (bytes.length < HEADER_SIZE || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return [];
  const little = bytes[28] !== HEADER_FLAG_BIG_ENDIAN;
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const count = Math.min(u32(20), Math.floor((bytes.length - HEADER_SIZE) / ENTRY_SIZE));
  const stringAt = (offset: number): string | null => {
    const end = offset < bytes.length ? bytes.indexOf(0, offset) : -1;
    return end < 0 ? null : bytes.toString('utf8', offset, end);
  };
  const entries: LdSoCacheEntry[] = [];
  for (let index = 0; index < count; index++) {
    const at = HEADER_SIZE + index * ENTRY_SIZE;
    const name = stringAt(u32(at + 4));
    const path = stringAt(u32(at + 8));
    if (name === null || path === null) continue;
    entries.push({ name, path, flags: u32(at), hasHwcap: u32(at + 16) !== 0 || u32(at + 20) !== 0 });
  }
  return entries;
}

let memo: { path: string; mtimeMs: number; size: number; entries: Promise<LdSoCacheEntry[]> } | null = null;

// Parsed once and kept until ldconfig rewrites the file (its mtime or size changes).
export async function readLdSoCache(path: string = DEFAULT_LD_SO_CACHE_PATH): Promise<LdSoCacheEntry[]> {
  let stats;
  try {
    stats = await stat(path);
  } catch {
    return [];
  }
  if (!stats.isFile() || stats.size > MAX_CACHE_BYTES) return [];
  if (memo?.path !== path || memo.mtimeMs !== stats.mtimeMs || memo.size !== stats.size) {
    const entries = readFile(path).then(parseLdSoCache, () => []);
    memo = { path, mtimeMs: stats.mtimeMs, size: stats.size, entries };
  }
  return memo.entries;
}
