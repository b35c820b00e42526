import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostElfTarget, inspectElf, resolveNeeded } from './elf.ts';
import { ldconfigEntries, lddResolutions } from './elf-fixtures/binutils.ts';
import { compileFixtures, type CompiledFixtures } from './elf-fixtures/compile.ts';
import { buildSyntheticElf } from './elf-fixtures/synthetic-elf.ts';
import { parseLdSoCache, readLdSoCache } from './elf-ldcache.ts';

let fixtures: CompiledFixtures;
before(async () => {
  fixtures = await compileFixtures();
});
after(() => fixtures?.remove());

const NO_LD_LIBRARY_PATH = { ldLibraryPath: '' };

async function resolveLikeTheLoader(path: string) {
  const report = await inspectElf(path);
  return resolveNeeded(report.needed, { runpath: report.runpath, rpath: report.rpath, origin: dirname(path), ...NO_LD_LIBRARY_PATH });
}

describe('ld.so.cache', () => {
  test('every entry equals what ldconfig -p lists', async () => {
    const entries = await readLdSoCache();
    const key = ({ name, path }: { name: string; path: string }) => `${name} => ${path}`;
    assert.ok(entries.length > 10, 'the cache lists the system libraries');
    assert.deepEqual(entries.map(key).sort(), (await ldconfigEntries()).map(key).sort());
  });

  test('a file that is not a glibc-ld.so.cache1.1 cache reads as empty', () => {
    assert.deepEqual(parseLdSoCache(Buffer.from('ld.so-1.7.0\0garbage')), []);
    assert.deepEqual(parseLdSoCache(Buffer.alloc(0)), []);
  });
});

describe('resolveNeeded agrees with the dynamic loader (ldd)', () => {
  const cases: Array<[string, () => string]> = [
    ['DT_NEEDED libm and libc, from the cache', () => fixtures.usesLibm],
    ['a deleted DT_NEEDED library', () => fixtures.usesMissingLibrary],
    ['a library beside the module through RUNPATH $ORIGIN', () => fixtures.usesLibraryViaRunpath],
    ['a library beside the module through RPATH $ORIGIN', () => fixtures.usesLibraryViaRpath],
  ];
  for (const [label, module] of cases) {
    test(label, async () => {
      const resolved = await resolveLikeTheLoader(module());
      const loader = await lddResolutions(module(), resolved.map(({ name }) => name));
      assert.deepEqual(new Map(resolved.map(({ name, path }) => [name, path])), loader);
    });
  }

  test('libm resolves; the deleted library does not', async () => {
    const libm = (await resolveLikeTheLoader(fixtures.usesLibm)).find(({ name }) => name === 'libm.so.6');
    assert.ok(libm?.path?.endsWith('/libm.so.6'));
    assert.equal(libm?.source, 'ld.so.cache');
    const missing = (await resolveLikeTheLoader(fixtures.usesMissingLibrary)).find(({ name }) => name === 'libhp-gone.so');
    assert.deepEqual(missing, { name: 'libhp-gone.so', path: null, source: null });
  });

  test('$ORIGIN expands to the module directory, and RUNPATH/RPATH are told apart', async () => {
    const expected = join(fixtures.dir, 'libhp-dependency.so');
    const viaRunpath = (await resolveLikeTheLoader(fixtures.usesLibraryViaRunpath)).find(({ name }) => name === 'libhp-dependency.so');
    const viaRpath = (await resolveLikeTheLoader(fixtures.usesLibraryViaRpath)).find(({ name }) => name === 'libhp-dependency.so');
    assert.deepEqual(viaRunpath, { name: 'libhp-dependency.so', path: expected, source: 'runpath' });
    assert.deepEqual(viaRpath, { name: 'libhp-dependency.so', path: expected, source: 'rpath' });
    const withoutOrigin = await resolveNeeded(['libhp-dependency.so'], { runpath: ['$ORIGIN'], ...NO_LD_LIBRARY_PATH });
    assert.equal(withoutOrigin[0].path, null);
  });
});

describe('resolveNeeded search order', () => {
  test('LD_LIBRARY_PATH comes before RUNPATH but after RPATH', async () => {
    const elsewhere = join(fixtures.dir, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    await copyFile(join(fixtures.dir, 'libhp-dependency.so'), join(elsewhere, 'libhp-dependency.so'));
    const search = { origin: fixtures.dir, ldLibraryPath: elsewhere };
    const [overRunpath] = await resolveNeeded(['libhp-dependency.so'], { ...search, runpath: ['$ORIGIN'] });
    assert.deepEqual(overRunpath, { name: 'libhp-dependency.so', path: join(elsewhere, 'libhp-dependency.so'), source: 'LD_LIBRARY_PATH' });
    const [underRpath] = await resolveNeeded(['libhp-dependency.so'], { ...search, rpath: ['$ORIGIN'] });
    assert.deepEqual(underRpath, { name: 'libhp-dependency.so', path: join(fixtures.dir, 'libhp-dependency.so'), source: 'rpath' });
  });

  test('a library of the wrong class or machine is skipped, as the loader skips it', async () => {
    const wrongClass = join(fixtures.dir, 'wrong-class');
    await mkdir(wrongClass, { recursive: true });
    const i386Library = buildSyntheticElf({ elfClass: 32, endianness: 'little', eMachine: 3, soname: 'libhp-dependency.so', needed: [], exports: [], dynamicFlags: 0 });
    await writeFile(join(wrongClass, 'libhp-dependency.so'), i386Library);
    const [resolved] = await resolveNeeded(['libhp-dependency.so'], { ldLibraryPath: wrongClass, runpath: [fixtures.dir] });
    assert.equal(resolved.source, 'runpath');
    const aarch64 = { ...hostElfTarget(), eMachine: 183 };
    assert.equal((await resolveNeeded(['libc.so.6'], { target: aarch64, ...NO_LD_LIBRARY_PATH }))[0].path, null);
  });

  test('a name containing a slash is a path', async () => {
    const path = join(fixtures.dir, 'libhp-dependency.so');
    assert.deepEqual(await resolveNeeded([path, join(fixtures.dir, 'absent.so')]), [
      { name: path, path, source: 'path' },
      { name: join(fixtures.dir, 'absent.so'), path: null, source: null },
    ]);
  });

  test('directories using $LIB or $PLATFORM are skipped, not guessed', async () => {
    const [resolved] = await resolveNeeded(['libhp-dependency.so'], { runpath: ['/nonexistent/$LIB', fixtures.dir], ...NO_LD_LIBRARY_PATH });
    assert.equal(resolved.path, join(fixtures.dir, 'libhp-dependency.so'));
  });
});
