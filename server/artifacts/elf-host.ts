// What a module must be to load into this Node process.
import { endianness } from 'node:os';
import type { ElfClass, Endianness } from './elf-file.ts';
import { EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64 } from './elf-header.ts';

export interface ElfTarget {
  elfClass: ElfClass;
  endianness: Endianness;
  eMachine: number;
}

const ELF_MACHINE_BY_NODE_ARCH: Partial<Record<NodeJS.Architecture, number>> = {
  x64: EM_X86_64,
  arm64: EM_AARCH64,
  ia32: EM_386,
  arm: EM_ARM,
  riscv64: EM_RISCV,
  ppc64: 21,
  s390x: 22,
  loong64: 258,
};

export function hostElfMachine(arch: NodeJS.Architecture = process.arch): number {
  const machine = ELF_MACHINE_BY_NODE_ARCH[arch];
  if (machine === undefined) throw new Error(`no ELF machine is known for process.arch "${arch}"`);
  return machine;
}

export function hostElfTarget(): ElfTarget {
  return {
    elfClass: process.arch === 'ia32' || process.arch === 'arm' ? 32 : 64,
    endianness: endianness() === 'LE' ? 'little' : 'big',
    eMachine: hostElfMachine(),
  };
}
