// Caps on each process cell, so a module that leaks memory or file descriptors takes down its own cell rather
// than the machine: the kernel enforces them (setrlimit, applied by the cell child to itself before it loads the
// module), the cell dies or fails at the cap, and the host replaces it or routes around it like any other crash.
// In-process cells share the host's own limits.

export interface CellLimits {
  /**
   * RLIMIT_DATA in MiB: the heap and private writable mappings, which is what a leak grows. Node's own share of a
   * cell child is about 80 MiB. 0 = no cap.
   */
  memoryMiB: number;
  /** RLIMIT_NOFILE: descriptors the cell may hold open at once (its child needs about 30 of them). 0 = no cap. */
  openFiles: number;
}

export const DEFAULT_CELL_LIMITS: CellLimits = { memoryMiB: 1024, openFiles: 1024 };
/** Below these a cell child cannot start Node or load a module at all. */
export const MIN_CELL_MEMORY_MIB = 128;
export const MIN_CELL_OPEN_FILES = 64;

const MEMORY_FLAG = '--memory-mib=';
const OPEN_FILES_FLAG = '--open-files=';

function parseCellLimit(source: string, raw: string, minimum: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 0 || (value > 0 && value < minimum)) {
    throw new Error(`${source}=${raw}: give 0 (no cap) or a whole number from ${minimum} up`);
  }
  return value;
}

/**
 * The host's cell caps: a flag (`--cell-memory-mib`, `--cell-open-files`) wins over the environment
 * (HOTPLANE_CELL_MEMORY_MIB, HOTPLANE_CELL_OPEN_FILES, which the console's embedded host inherits), which wins over
 * the default. Throws on a value that is not 0 or at least the minimum.
 */
export function resolveCellLimits(flags: { memoryMiB?: string; openFiles?: string }, env: Record<string, string | undefined> = process.env): CellLimits {
  const pick = (flag: string, given: string | undefined, variable: string, minimum: number, fallback: number) => {
    if (given !== undefined) return parseCellLimit(flag, given, minimum);
    const fromEnv = env[variable];
    return fromEnv ? parseCellLimit(variable, fromEnv, minimum) : fallback;
  };
  return {
    memoryMiB: pick('--cell-memory-mib', flags.memoryMiB, 'HOTPLANE_CELL_MEMORY_MIB', MIN_CELL_MEMORY_MIB, DEFAULT_CELL_LIMITS.memoryMiB),
    openFiles: pick('--cell-open-files', flags.openFiles, 'HOTPLANE_CELL_OPEN_FILES', MIN_CELL_OPEN_FILES, DEFAULT_CELL_LIMITS.openFiles),
  };
}

/** The cell child's command-line arguments for these limits. */
export function cellLimitArgs(limits: CellLimits): string[] {
  return [`${MEMORY_FLAG}${limits.memoryMiB}`, `${OPEN_FILES_FLAG}${limits.openFiles}`];
}

/** The limits in the cell child's arguments; a limit left out is no cap. */
export function cellLimitsFromArgs(args: readonly string[]): CellLimits {
  const find = (flag: string) => Number(args.find((a) => a.startsWith(flag))?.slice(flag.length) ?? 0);
  return { memoryMiB: find(MEMORY_FLAG), openFiles: find(OPEN_FILES_FLAG) };
}

/** For crash reports: "memory 256 MiB, 1024 open files". */
export function describeCellLimits(limits: CellLimits): string {
  const memory = limits.memoryMiB > 0 ? `memory ${limits.memoryMiB} MiB` : 'no memory cap';
  const files = limits.openFiles > 0 ? `${limits.openFiles} open files` : 'no open-file cap';
  return `${memory}, ${files}`;
}
