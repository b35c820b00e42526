// Files for another class, byte order or machine must be reported, not rejected: the preflight needs
// their header to tell the uploader what to rebuild. binutils reads every ELF flavour, so it is the
// reference for the hand-assembled files too.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostIncompatibilities, inspectElf, type ElfTarget } from './elf.ts';
import { asNmPrintsIt, nmDynamicSymbols, readelfDynamic } from './elf-fixtures/binutils.ts';
import { execFileAsync } from './elf-fixtures/compile.ts';
import { buildSyntheticElf, type SyntheticElfSpec } from './elf-fixtures/synthetic-elf.ts';

const X86_64: ElfTarget = { elfClass: 64, endianness: 'little', eMachine: 62 };
const BUILD_X86_64 = 'build a 64-bit x86_64 shared object (gcc -shared -fPIC)';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotplane-elf-foreign-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const FOREIGN: Array<{ label: string; spec: Pick<SyntheticElfSpec, 'elfClass' | 'endianness' | 'eMachine'>; machine: string; problems: string[] }> = [
  {
    label: '32-bit i386',
    spec: { elfClass: 32, endianness: 'little', eMachine: 3 },
    machine: 'i386',
    problems: [`32-bit ELF: ${BUILD_X86_64}`, `built for i386 (e_machine 3), but this server runs on x86_64: ${BUILD_X86_64}`],
  },
  {
    label: '64-bit aarch64',
    spec: { elfClass: 64, endianness: 'little', eMachine: 183 },
    machine: 'aarch64',
    problems: [`built for aarch64 (e_machine 183), but this server runs on x86_64: ${BUILD_X86_64}`],
  },
  {
    label: '64-bit big-endian ppc64',
    spec: { elfClass: 64, endianness: 'big', eMachine: 21 },
    machine: 'ppc64',
    problems: [`built for ppc64 (e_machine 21), but this server runs on x86_64: ${BUILD_X86_64}`, `big-endian ELF: ${BUILD_X86_64}`],
  },
  {
    label: '32-bit big-endian mips',
    spec: { elfClass: 32, endianness: 'big', eMachine: 8 },
    machine: 'mips',
    problems: [
      `32-bit ELF: ${BUILD_X86_64}`,
      `built for mips (e_machine 8), but this server runs on x86_64: ${BUILD_X86_64}`,
      `big-endian ELF: ${BUILD_X86_64}`,
    ],
  },
];

const DF_STATIC_TLS = 0x10;

describe('foreign ELF files are fully reported', () => {
  for (const { label, spec, machine, problems } of FOREIGN) {
    test(`${label}: header, dynamic section and symbols, checked against binutils`, async () => {
      const path = join(dir, `${label.replaceAll(' ', '-')}.so`);
      const library = { soname: 'libhp-foreign.so.2', needed: ['libc.so.6', 'libhp-peer.so'], exports: ['hp_module_init', 'hp_module_abi'] };
      await writeFile(path, buildSyntheticElf({ ...spec, ...library, dynamicFlags: DF_STATIC_TLS }));

      const report = await inspectElf(path);
      assert.deepEqual(
        [report.elfClass, report.endianness, report.machine, report.eMachine, report.type],
        [spec.elfClass, spec.endianness, machine, spec.eMachine, 'ET_DYN'],
      );
      assert.deepEqual([report.soname, report.needed], [library.soname, library.needed]);
      assert.deepEqual(report.definedExports.map((symbol) => symbol.name), library.exports);
      assert.deepEqual([report.staticTls, report.staticTlsEvidence], [true, 'DF_STATIC_TLS']);
      assert.deepEqual(report.sectionNames, ['.dynstr', '.dynsym', '.dynamic', '.shstrtab']);

      const reference = await readelfDynamic(path);
      assert.deepEqual([report.soname, report.needed], [reference.soname, reference.needed]);
      assert.deepEqual(report.definedExports.map(asNmPrintsIt).sort(), (await nmDynamicSymbols(path, true)).sort());
      assert.deepEqual(hostIncompatibilities(report, X86_64), problems);
    });

    test(`${label}: a bare ELF header is reported too`, async () => {
      const path = join(dir, `${label.replaceAll(' ', '-')}-header-only.so`);
      await writeFile(path, buildSyntheticElf({ ...spec, soname: '', needed: [], exports: [], dynamicFlags: 0, headerOnly: true }));
      const report = await inspectElf(path);
      assert.deepEqual([report.elfClass, report.endianness, report.machine], [spec.elfClass, spec.endianness, machine]);
      assert.deepEqual([report.needed, report.dynamicSymbols, report.sectionNames, report.soname], [[], [], [], null]);
      assert.deepEqual(hostIncompatibilities(report, X86_64), problems);
    });
  }

  test('a gcc-built x86_64 module patched to e_machine aarch64 reads the same, but as aarch64', async () => {
    const original = join(dir, 'libhp-native.so');
    const patched = join(dir, 'libhp-native-as-aarch64.so');
    await writeFile(join(dir, 'native.c'), 'int hp_module_init(void) { return 0; }\n');
    await execFileAsync('gcc', ['-shared', '-fPIC', '-o', original, join(dir, 'native.c')]);
    const bytes = await readFile(original);
    bytes.writeUInt16LE(183, 18);
    await writeFile(patched, bytes);

    const [native, foreign] = await Promise.all([inspectElf(original), inspectElf(patched)]);
    assert.deepEqual([foreign.machine, foreign.eMachine, foreign.elfClass], ['aarch64', 183, 64]);
    assert.deepEqual(foreign.definedExports, native.definedExports);
    assert.deepEqual(foreign.needed, native.needed);
    assert.deepEqual(hostIncompatibilities(foreign, X86_64), [`built for aarch64 (e_machine 183), but this server runs on x86_64: ${BUILD_X86_64}`]);
    assert.deepEqual(hostIncompatibilities(native, X86_64), []);
  });
});
