// What binutils (nm, readelf) and the real dynamic loader (ldd) say about a file: the references the
// inspector is tested against.
import type { ElfSymbol } from '../elf.ts';
import { execFileAsync } from './compile.ts';

async function output(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

// Symbol names as nm -D prints them (binutils >= 2.37 appends @VER / @@VER); the name is the last column.
export async function nmDynamicSymbols(path: string, definedOnly: boolean): Promise<string[]> {
  const text = await output('nm', ['-D', ...(definedOnly ? ['--defined-only'] : []), path]);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/).at(-1) as string);
}

// binutils' rule (bfd_get_symbol_version_string, nm's print_symname): no suffix for unversioned and base
// symbols or for a version-definition symbol named after its own version; "@" for hidden versions and
// undefined references; "@@" for a defined default version.
export function asNmPrintsIt(symbol: ElfSymbol): string {
  if (symbol.version === null || (symbol.defined && symbol.version === symbol.name)) return symbol.name;
  return `${symbol.name}${symbol.versionHidden || !symbol.defined ? '@' : '@@'}${symbol.version}`;
}

export interface ReadelfDynamic {
  needed: string[];
  soname: string | null;
  runpath: string[];
  rpath: string[];
}

export async function readelfDynamic(path: string): Promise<ReadelfDynamic> {
  const text = await output('readelf', ['-d', '-W', path]);
  const valuesOf = (label: string) => [...text.matchAll(new RegExp(`${label}: \\[([^\\]]*)\\]`, 'g'))].map((match) => match[1]);
  const split = (values: string[]) => values.flatMap((value) => value.split(':'));
  return {
    needed: valuesOf('Shared library'),
    soname: valuesOf('Library soname')[0] ?? null,
    runpath: split(valuesOf('Library runpath')),
    rpath: split(valuesOf('Library rpath')),
  };
}

export async function readelfBuildId(path: string): Promise<string | null> {
  const text = await output('readelf', ['-n', '-W', path]);
  return /Build ID: ([0-9a-f]+)/.exec(text)?.[1] ?? null;
}

export async function readelfSectionNames(path: string): Promise<string[]> {
  const text = await output('readelf', ['-S', '-W', path]);
  const names: string[] = [];
  for (const match of text.matchAll(/^\s*\[\s*(\d+)\] (\S+)?/gm)) {
    if (match[1] !== '0') names.push(match[2] ?? '');
  }
  return names;
}

export interface ReadelfSymbol {
  type: string;
  binding: string;
  visibility: string;
  sectionIndex: string;
}

const READELF_TYPES: Record<string, string> = { GNU_IFUNC: 'IFUNC' };
const READELF_BINDINGS: Record<string, string> = { GNU_UNIQUE: 'UNIQUE' };
const READELF_SECTIONS: Record<number, string> = { 0: 'UND', 0xfff1: 'ABS', 0xfff2: 'COM' };

export function asReadelfPrintsIt(symbol: ElfSymbol): ReadelfSymbol {
  return {
    type: READELF_TYPES[symbol.type] ?? symbol.type,
    binding: READELF_BINDINGS[symbol.binding] ?? symbol.binding,
    visibility: symbol.visibility,
    sectionIndex: READELF_SECTIONS[symbol.sectionIndex] ?? String(symbol.sectionIndex),
  };
}

// Columns of `readelf --dyn-syms -W` after Num/Value/Size, in table order without the null symbol.
export async function readelfDynamicSymbols(path: string): Promise<ReadelfSymbol[]> {
  const text = await output('readelf', ['--dyn-syms', '-W', path]);
  const symbols: ReadelfSymbol[] = [];
  for (const match of text.matchAll(/^\s*(\d+): \S+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/gm)) {
    if (match[1] !== '0') symbols.push({ type: match[2], binding: match[3], visibility: match[4], sectionIndex: match[5] });
  }
  return symbols;
}

// The loader's own answer: ldd runs ld.so in trace mode. A name ldd does not list is left out of the map.
export async function lddResolutions(path: string, names: string[]): Promise<Map<string, string | null>> {
  const { stdout } = await execFileAsync('ldd', [path], { env: { ...process.env, LD_LIBRARY_PATH: '' } }).catch((error) => error);
  const resolutions = new Map<string, string | null>();
  for (const name of names) {
    const line = (stdout as string).split('\n').find((candidate) => candidate.trim().startsWith(`${name} =>`));
    if (!line) continue;
    const target = line.split('=>')[1].trim();
    resolutions.set(name, target.startsWith('not found') ? null : target.replace(/\s*\(0x[0-9a-f]+\)$/, ''));
  }
  return resolutions;
}

// `ldconfig -p`: "\tname (flags[, hwcap: ...]) => path".
export async function ldconfigEntries(): Promise<Array<{ name: string; path: string }>> {
  const text = await output('ldconfig', ['-p']);
  return [...text.matchAll(/^\t(\S+) \([^)]*\) => (.+)$/gm)].map((match) => ({ name: match[1], path: match[2] }));
}
