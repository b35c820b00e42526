// Where the dynamic loader on this machine would find each DT_NEEDED library, following glibc's order:
// DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, default directories.
import { join } from 'node:path';
import { ElfFile } from './elf-file.ts';
import { readElfHeader } from './elf-header.ts';
import { hostElfTarget, type ElfTarget } from './elf-host.ts';
import { DEFAULT_LD_SO_CACHE_PATH, readLdSoCache } from './elf-ldcache.ts';

export interface ResolveNeededOptions {
  rpath?: string[];
  runpath?: string[];
  // Directory of the object whose DT_NEEDED these are: what $ORIGIN expands to.
  origin?: string;
  // Colon-separated; defaults to this process's LD_LIBRARY_PATH, which is what dlopen in it uses.
  ldLibraryPath?: string;
  // Libraries of another class or machine are skipped, as the loader skips them; defaults to this process.
  target?: ElfTarget;
  ldSoCachePath?: string;
}

export type LibrarySource = 'path' | 'rpath' | 'LD_LIBRARY_PATH' | 'runpath' | 'ld.so.cache' | 'default directory';

export interface ResolvedLibrary {
  name: string;
  // null when the loader would fail with "cannot open shared object file".
  path: string | null;
  source: LibrarySource | null;
}

const ET_DYN = 3;
const FLAG_TYPE_MASK = 0xff;
const FLAG_ELF_LIBC6 = 3;

const MULTIARCH_TRIPLETS: Record<number, string> = {
  3: 'i386-linux-gnu',
  40: 'arm-linux-gnueabihf',
  62: 'x86_64-linux-gnu',
  183: 'aarch64-linux-gnu',
  243: 'riscv64-linux-gnu',
};

function defaultDirectories(target: ElfTarget): string[] {
  const triplet = MULTIARCH_TRIPLETS[target.eMachine];
  return [
    ...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []),
    ...(target.elfClass === 64 ? ['/lib64', '/usr/lib64'] : []),
    '/usr/lib',
    '/lib',
  ];
}

// Only $ORIGIN is expanded: $LIB and $PLATFORM depend on how ld.so was built and on the CPU, so a
// directory using them is skipped rather than guessed.
function expandSearchPath(directories: string[], origin: string | undefined): string[] {
  const expanded: string[] = [];
  for (const directory of directories) {
    const withOrigin = origin === undefined ? directory : directory.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin);
    if (!withOrigin.includes('$')) expanded.push(withOrigin);
  }
  return expanded;
}

async function isLoadableBy(path: string, target: ElfTarget): Promise<boolean> {
  let file: ElfFile | undefined;
  try {
    file = await ElfFile.open(path);
    const header = await readElfHeader(file);
    return (
      header.eType === ET_DYN &&
      header.elfClass === target.elfClass &&
      header.endianness === target.endianness &&
      header.eMachine === target.eMachine
    );
  } catch {
    return false;
  } finally {
    await file?.close();
  }
}

export async function resolveNeeded(needed: string[], options: ResolveNeededOptions = {}): Promise<ResolvedLibrary[]> {
  const target = options.target ?? hostElfTarget();
  const runpath = expandSearchPath(options.runpath ?? [], options.origin);
  const searchPaths: Array<[LibrarySource, string[]]> = [
    ['rpath', runpath.length === 0 ? expandSearchPath(options.rpath ?? [], options.origin) : []],
    ['LD_LIBRARY_PATH', (options.ldLibraryPath ?? process.env.LD_LIBRARY_PATH ?? '').split(/[:;]/).filter(Boolean)],
    ['runpath', runpath],
  ];
  const cache = await readLdSoCache(options.ldSoCachePath ?? DEFAULT_LD_SO_CACHE_PATH);
  const cached = cache
    .filter((entry) => (entry.flags & FLAG_TYPE_MASK) === FLAG_ELF_LIBC6)
    .sort((a, b) => Number(a.hasHwcap) - Number(b.hasHwcap));

  const resolveOne = async (name: string): Promise<ResolvedLibrary> => {
    if (name.includes('/')) {
      const found = await isLoadableBy(name, target);
      return { name, path: found ? name : null, source: found ? 'path' : null };
    }
    for (const [source, directories] of searchPaths) {
      for (const directory of directories) {
        const candidate = join(directory, name);
        if (await isLoadableBy(candidate, target)) return { name, path: candidate, source };
      }
    }
    for (const entry of cached) {
      if (entry.name === name && (await isLoadableBy(entry.path, target))) return { name, path: entry.path, source: 'ld.so.cache' };
    }
    for (const directory of defaultDirectories(target)) {
      const candidate = join(directory, name);
      if (await isLoadableBy(candidate, target)) return { name, path: candidate, source: 'default directory' };
    }
    return { name, path: null, source: null };
  };
  return Promise.all(needed.map(resolveOne));
}
