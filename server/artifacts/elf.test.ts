import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostElfMachine, hostIncompatibilities, inspectElf, resolveNeeded, type ElfReport } from './elf.ts';
import {
  asNmPrintsIt,
  asReadelfPrintsIt,
  nmDynamicSymbols,
  readelfBuildId,
  readelfDynamic,
  readelfDynamicSymbols,
  readelfSectionNames,
} from './elf-fixtures/binutils.ts';
import { compileFixtures, execFileAsync, type CompiledFixtures } from './elf-fixtures/compile.ts';

const SYSTEM_LIBRARIES = ['libc.so.6', 'libz.so.1', 'libssl.so.3'];

let fixtures: CompiledFixtures;
const systemLibraries = new Map<string, string>();

before(async () => {
  fixtures = await compileFixtures();
  for (const { name, path } of await resolveNeeded(SYSTEM_LIBRARIES)) {
    assert.ok(path, `${name} is not installed; the tests compare against it (apt-get install libc6 zlib1g libssl3)`);
    systemLibraries.set(name, path);
  }
});
after(() => fixtures?.remove());

const sorted = (names: string[]) => [...names].sort();

function compiledModules(): Array<[string, string]> {
  return [
    ['exports', fixtures.exports],
    ['thread-local initial-exec', fixtures.threadLocalInitialExec],
    ['thread-local dynamic', fixtures.threadLocalDynamic],
    ['uses libm', fixtures.usesLibm],
    ['uses a deleted library', fixtures.usesMissingLibrary],
    ['uses a library via RUNPATH', fixtures.usesLibraryViaRunpath],
    ['uses a library via RPATH', fixtures.usesLibraryViaRpath],
  ];
}

function allInspected(): Array<[string, string]> {
  return [...[...systemLibraries].map(([name, path]): [string, string] => [name, path]), ...compiledModules()];
}

describe('dynamic symbols agree with binutils', () => {
  test('definedExports equals nm -D --defined-only, names and versions', async () => {
    for (const [label, path] of allInspected()) {
      const report = await inspectElf(path);
      assert.deepEqual(sorted(report.definedExports.map(asNmPrintsIt)), sorted(await nmDynamicSymbols(path, true)), label);
    }
  });

  test('dynamicSymbols equals nm -D, undefined references included', async () => {
    for (const [label, path] of allInspected()) {
      const report = await inspectElf(path);
      assert.deepEqual(sorted(report.dynamicSymbols.map(asNmPrintsIt)), sorted(await nmDynamicSymbols(path, false)), label);
    }
  });

  test('type, binding, visibility and section index match readelf --dyn-syms, in table order', async () => {
    for (const [label, path] of allInspected()) {
      const report = await inspectElf(path);
      assert.deepEqual(report.dynamicSymbols.map(asReadelfPrintsIt), await readelfDynamicSymbols(path), label);
    }
  });

  test('the exports fixture reports exactly its exported shapes', async () => {
    const report = await inspectElf(fixtures.exports);
    const exported = (name: string) => report.definedExports.filter((symbol) => symbol.name === name);
    assert.deepEqual(sorted(report.definedExports.map((symbol) => symbol.name)), [
      'HOTPLANE_1.0',
      'HOTPLANE_2.0',
      'hp_api',
      'hp_api',
      'hp_module_abi',
      'hp_module_init',
      'hp_module_optional_hook',
    ]);
    assert.deepEqual(
      exported('hp_api').map(({ version, versionHidden }) => ({ version, versionHidden })).sort((a, b) => String(a.version).localeCompare(String(b.version))),
      [
        { version: 'HOTPLANE_1.0', versionHidden: true },
        { version: 'HOTPLANE_2.0', versionHidden: false },
      ],
    );
    assert.equal(exported('hp_module_abi')[0].type, 'OBJECT');
    assert.equal(exported('hp_module_init')[0].type, 'FUNC');
    assert.equal(exported('hp_module_optional_hook')[0].binding, 'WEAK');
    assert.equal(report.dynamicSymbols.some((symbol) => symbol.name.startsWith('hp_internal') || symbol.name === 'hp_file_local'), false);
    assert.equal(report.dynamicSymbols.find((symbol) => symbol.name === '__cxa_finalize')?.defined, false);
  });

  test('libc exports memcpy twice: the default GLIBC_2.14 GNU_IFUNC and the hidden GLIBC_2.2.5 FUNC', async () => {
    const report = await inspectElf(systemLibraries.get('libc.so.6') as string);
    const memcpy = report.definedExports
      .filter((symbol) => symbol.name === 'memcpy')
      .map(({ version, versionHidden, type }) => ({ version, versionHidden, type }));
    assert.deepEqual(sorted(memcpy.map((symbol) => JSON.stringify(symbol))), [
      JSON.stringify({ version: 'GLIBC_2.14', versionHidden: false, type: 'GNU_IFUNC' }),
      JSON.stringify({ version: 'GLIBC_2.2.5', versionHidden: true, type: 'FUNC' }),
    ]);
  });
});

describe('dynamic section, notes and sections agree with readelf', () => {
  test('NEEDED, SONAME, RUNPATH and RPATH equal readelf -d', async () => {
    for (const [label, path] of allInspected()) {
      const report = await inspectElf(path);
      const reference = await readelfDynamic(path);
      assert.deepEqual(
        { needed: report.needed, soname: report.soname, runpath: report.runpath, rpath: report.rpath },
        reference,
        label,
      );
    }
    assert.deepEqual((await inspectElf(fixtures.usesLibraryViaRunpath)).runpath, ['$ORIGIN']);
    assert.deepEqual((await inspectElf(fixtures.usesLibraryViaRpath)).rpath, ['$ORIGIN']);
    assert.equal((await inspectElf(fixtures.exports)).soname, 'libhp-exports.so.1');
    assert.deepEqual((await inspectElf(fixtures.usesLibm)).needed.filter((name) => name.startsWith('libm')), ['libm.so.6']);
  });

  test('build ID and section names equal readelf -n / -S', async () => {
    for (const [label, path] of allInspected()) {
      const report = await inspectElf(path);
      assert.equal(report.buildId, await readelfBuildId(path), label);
      assert.deepEqual(report.sectionNames, await readelfSectionNames(path), label);
    }
    assert.match((await inspectElf(fixtures.exports)).buildId ?? '', /^[0-9a-f]{40}$/);
  });
});

describe('thread-local storage', () => {
  test('initial-exec TLS sets DF_STATIC_TLS: static TLS', async () => {
    const report = await inspectElf(fixtures.threadLocalInitialExec);
    assert.equal(report.hasTlsSegment, true);
    assert.equal(report.staticTls, true);
    assert.equal(report.staticTlsEvidence, 'DF_STATIC_TLS');
  });

  test('global-dynamic TLS has a TLS segment but needs no static TLS', async () => {
    const report = await inspectElf(fixtures.threadLocalDynamic);
    assert.equal(report.hasTlsSegment, true);
    assert.equal(report.staticTls, false);
  });

  test('a module without thread-locals has neither', async () => {
    const report = await inspectElf(fixtures.exports);
    assert.deepEqual([report.hasTlsSegment, report.staticTls, report.staticTlsEvidence], [false, false, null]);
  });

  test('without DF_STATIC_TLS, an initial-exec TLS relocation still marks static TLS', async () => {
    const bytes = await readFile(fixtures.threadLocalInitialExec);
    // The dynamic entry { d_tag = DT_FLAGS (30), d_val = DF_STATIC_TLS (0x10) } as ELF64 little-endian.
    const flagsEntry = Buffer.alloc(16);
    flagsEntry.writeBigUInt64LE(30n, 0);
    flagsEntry.writeBigUInt64LE(0x10n, 8);
    const at = bytes.indexOf(flagsEntry);
    assert.ok(at > 0 && bytes.indexOf(flagsEntry, at + 1) < 0, 'exactly one DT_FLAGS=DF_STATIC_TLS entry');
    bytes.writeBigUInt64LE(0n, at + 8);
    const patched = join(fixtures.dir, 'libhp-tls-ie-no-flag.so');
    await writeFile(patched, bytes);
    const report = await inspectElf(patched);
    assert.equal(report.staticTls, true);
    assert.equal(report.staticTlsEvidence, 'INITIAL_EXEC_TLS_RELOCATIONS');
  });
});

describe('file type and host compatibility', () => {
  test('a gcc -no-pie executable is ET_EXEC and rejected as such', async () => {
    const report = await inspectElf(fixtures.nonPieExecutable);
    assert.equal(report.type, 'ET_EXEC');
    assert.equal(report.eType, 2);
    assert.match(hostIncompatibilities(report).join('\n'), /ELF type is ET_EXEC, not a shared object/);
  });

  test('a PIE executable is ET_DYN but flagged as an executable', async () => {
    const report = await inspectElf(fixtures.pieExecutable);
    assert.deepEqual([report.type, report.pieExecutable], ['ET_DYN', true]);
    assert.match(hostIncompatibilities(report).join('\n'), /position-independent executable/);
  });

  test('compiled modules load into this process: no incompatibilities', async () => {
    for (const [label, path] of compiledModules()) assert.deepEqual(hostIncompatibilities(await inspectElf(path)), [], label);
  });

  test('hostElfMachine maps Node architectures and matches the running node binary', async () => {
    assert.equal(hostElfMachine('x64'), 62);
    assert.equal(hostElfMachine('arm64'), 183);
    assert.throws(() => hostElfMachine('mips'), /no ELF machine is known/);
    const node = await inspectElf(process.execPath);
    assert.equal(node.eMachine, hostElfMachine());
    assert.ok(node.definedExports.some((symbol) => symbol.name === 'napi_create_function'), 'node exports N-API');
  });
});

describe('Go build info', () => {
  test('a .go.buildinfo section is detected and its inline Go version read', async () => {
    const buildInfo = Buffer.alloc(48);
    buildInfo.write('\xff Go buildinf:', 0, 'latin1');
    buildInfo[14] = 8; // pointer size
    buildInfo[15] = 0x2; // version and module info stored inline (Go 1.18+)
    buildInfo[32] = 'go1.22.3'.length;
    buildInfo.write('go1.22.3', 33, 'latin1');
    const sectionFile = join(fixtures.dir, 'go-buildinfo.bin');
    await writeFile(sectionFile, buildInfo);
    const goModule = join(fixtures.dir, 'libhp-go.so');
    await copyFile(fixtures.exports, goModule);
    await execFileAsync('objcopy', ['--add-section', `.go.buildinfo=${sectionFile}`, goModule]);

    const report: ElfReport = await inspectElf(goModule);
    assert.deepEqual(report.goBuildInfo, { goVersion: 'go1.22.3' });
    assert.ok(report.sectionNames.includes('.go.buildinfo'));
    assert.equal((await inspectElf(fixtures.exports)).goBuildInfo, null);
  });
});
