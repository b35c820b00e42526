// The one place that talks to koffi: loads a module .so, declares the ABI v1 functions (modules/hotplane_module.h)
// and turns calls into plain TypeScript values; also libc's rlimit calls (the caps of a process cell) and mmap (the
// crash marker). Used by in-process cells and by the child process of isolated cells, so it must not import
// 'server-only' or anything from Next.
import { readFileSync, realpathSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';
import { HP_ABI_VERSION } from '../protocol/abi';

export { HP_ABI_VERSION };
export const HP_OK = 0;
export const HP_FAULT = -1;
export const HP_BUFFER_TOO_SMALL = -2;

const DEFAULT_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const SELF_TEST_REPORT_BYTES = 16 * 1024;

export interface ModuleLibraryOptions {
  /** First size of the reused response buffer; it grows when a module asks for more. */
  responseBytes?: number;
  /** A module asking for a larger response (or state) than this gets code -2 and no allocation. */
  maxResponseBytes?: number;
}

export interface ModuleResponse {
  /** 0 ok, 1..999 application answer, -1 fault, -2 still too small after the one retry (count it as a fault). */
  code: number;
  body: Buffer;
}

type KoffiFunction = ReturnType<LibraryHandle['func']>;

// Pointers are declared `void *` so koffi passes Buffers and typed arrays in place, without copying, and the module
// writes straight into them; *len comes back through a one-element BigUint64Array.
const REQUIRED = {
  abiVersion: 'uint32_t hp_abi_version(void)',
  name: 'const char *hp_module_name(void)',
  version: 'const char *hp_module_version(void)',
  init: 'int32_t hp_init(const void *config, size_t config_len)',
  handle: 'int32_t hp_handle(const void *req, size_t req_len, void *resp, size_t resp_cap, void *resp_len)',
  health: 'int32_t hp_health(void)',
  selfTest: 'int32_t hp_self_test(void *report, size_t report_cap)',
  shutdown: 'void hp_shutdown(void)',
} as const;

const OPTIONAL = {
  stateExport: 'int32_t hp_state_export(void *buf, size_t cap, void *len)',
  stateImport: 'int32_t hp_state_import(const void *buf, size_t len)',
} as const;

type AbiFunctions = Record<keyof typeof REQUIRED, KoffiFunction> &
  Record<keyof typeof OPTIONAL, KoffiFunction | null>;

export class ModuleLibrary {
  /** The resolved file, recorded at open: after close the original path (e.g. /proc/self/fd/N) may be gone. */
  readonly realPath: string;
  private library: LibraryHandle | null;
  private abi: AbiFunctions | null;
  private response: Buffer;
  private readonly maxResponseBytes: number;
  private readonly length = new BigUint64Array(1);

  private constructor(
    readonly path: string,
    realPath: string,
    library: LibraryHandle,
    abi: AbiFunctions,
    options: ModuleLibraryOptions,
  ) {
    this.realPath = realPath;
    this.library = library;
    this.abi = abi;
    this.response = Buffer.alloc(options.responseBytes ?? DEFAULT_RESPONSE_BYTES);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * dlopen with RTLD_NOW (a missing dependency fails here, not mid-request), RTLD_LOCAL (the module's symbols stay
   * invisible to other modules) and RTLD_DEEPBIND (its own calls bind to its own symbols first, never to an older
   * version's). Throws when a required ABI function is missing.
   */
  static open(path: string, options: ModuleLibraryOptions = {}): ModuleLibrary {
    const realPath = realpathSync(path);
    const library = koffi.load(path, { lazy: false, global: false, deep: true });
    try {
      const abi = {} as AbiFunctions;
      for (const [key, signature] of Object.entries(REQUIRED)) {
        abi[key as keyof typeof REQUIRED] = library.func(signature);
      }
      for (const [key, signature] of Object.entries(OPTIONAL)) {
        abi[key as keyof typeof OPTIONAL] = declareIfPresent(library, signature);
      }
      return new ModuleLibrary(path, realPath, library, abi, options);
    } catch (error) {
      library.unload();
      throw new Error(`${path} is not a Hotplane module: ${(error as Error).message}`);
    }
  }

  get closed(): boolean {
    return this.abi === null;
  }

  get supportsStateHandOff(): boolean {
    const abi = this.live();
    return abi.stateExport !== null && abi.stateImport !== null;
  }

  abiVersion(): number {
    return this.live().abiVersion();
  }

  // A module returning NULL gets '', which never equals a manifest's name or version.
  name(): string {
    return this.live().name() ?? '';
  }

  version(): string {
    return this.live().version() ?? '';
  }

  init(config: Uint8Array = new Uint8Array(0)): number {
    return this.live().init(config, config.length);
  }

  handle(request: Uint8Array): ModuleResponse {
    const abi = this.live();
    const call = () => abi.handle(request, request.length, this.response, this.response.length, this.length);
    const code = this.callGrowingOnce(call);
    const length = Number(this.length[0]);
    if (code === HP_BUFFER_TOO_SMALL) return { code, body: Buffer.alloc(0) };
    // A module claiming more bytes than the buffer holds has written past it or lies; either way it is a fault.
    if (length > this.response.length) return { code: HP_FAULT, body: Buffer.alloc(0) };
    // Copied out because the response buffer is reused by the next call.
    return { code, body: Buffer.from(this.response.subarray(0, length)) };
  }

  health(): number {
    return this.live().health();
  }

  selfTest(): { code: number; report: string } {
    const report = Buffer.alloc(SELF_TEST_REPORT_BYTES);
    const code = this.live().selfTest(report, report.length);
    const end = report.indexOf(0);
    return { code, report: report.toString('utf8', 0, end === -1 ? report.length : end) };
  }

  shutdown(): void {
    this.live().shutdown();
  }

  /** The module's state for the next version, or null when it has no hp_state_export. Throws when export fails. */
  exportState(): Buffer | null {
    const stateExport = this.live().stateExport;
    if (!stateExport) return null;
    const code = this.callGrowingOnce(() => stateExport(this.response, this.response.length, this.length));
    if (code !== HP_OK) throw new Error(`${this.path}: hp_state_export returned ${code}`);
    const length = Number(this.length[0]);
    if (length > this.response.length) throw new Error(`${this.path}: hp_state_export claimed ${length} bytes`);
    return Buffer.from(this.response.subarray(0, length));
  }

  importState(state: Uint8Array): number {
    const stateImport = this.live().stateImport;
    if (!stateImport) throw new Error(`${this.path} has no hp_state_import`);
    return stateImport(state, state.length);
  }

  /** Whether the library exports `name` (e.g. to find forbidden exports of a loaded module). */
  hasSymbol(name: string): boolean {
    const library = this.liveLibrary();
    try {
      library.symbol(name);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * dlclose. Call shutdown() first. Idempotent; afterwards every method throws, because calling into an unloaded
   * library would crash the whole process. The file may stay mapped anyway (see isLibraryResident).
   */
  close(): void {
    if (!this.library) return;
    const library = this.library;
    this.library = null;
    this.abi = null;
    library.unload();
  }

  private live(): AbiFunctions {
    if (!this.abi) throw new Error(`module library ${this.path} is closed`);
    return this.abi;
  }

  private liveLibrary(): LibraryHandle {
    if (!this.library) throw new Error(`module library ${this.path} is closed`);
    return this.library;
  }

  // The ABI's -2 protocol: *len says how much is needed; grow the reused buffer to that once and call again.
  // *len is zeroed before each call: a module that forgets to set it must not hand back the previous answer's bytes.
  private callGrowingOnce(call: () => number): number {
    this.length[0] = 0n;
    const code = call();
    if (code !== HP_BUFFER_TOO_SMALL) return code;
    const needed = Number(this.length[0]);
    if (needed <= this.response.length || needed > this.maxResponseBytes) return HP_BUFFER_TOO_SMALL;
    this.response = Buffer.alloc(needed);
    this.length[0] = 0n;
    return call();
  }
}

function declareIfPresent(library: LibraryHandle, signature: string): KoffiFunction | null {
  const name = /(\w+)\(/.exec(signature)![1];
  try {
    library.symbol(name);
  } catch {
    return null;
  }
  return library.func(signature);
}

/**
 * Whether `path` (or the file it resolves to) is still mapped into this process. After close() this tells an
 * unloaded module from a resident one: dlclose leaves a library mapped when it is NODELETE, binds an
 * STB_GNU_UNIQUE symbol, or is still opened elsewhere in the process (Go libraries are always NODELETE).
 */
export function isLibraryResident(path: string): boolean {
  const wanted = new Set([withoutDeletedMark(path)]);
  try {
    wanted.add(withoutDeletedMark(realpathSync(path)));
  } catch {
    // The file is gone: only its original name can match.
  }
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const start = line.indexOf('/');
    if (start !== -1 && wanted.has(withoutDeletedMark(line.slice(start)))) return true;
  }
  return false;
}

function withoutDeletedMark(file: string): string {
  return file.endsWith(' (deleted)') ? file.slice(0, -' (deleted)'.length) : file;
}

// Linux numbers (asm-generic/resource.h, the same on x86-64 and arm64).
const RLIMIT_NUMBER = { data: 2, nofile: 7 } as const;
// asm-generic/mman-common.h and mman.h.
const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_SHARED = 0x1;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

let libc: { getrlimit: KoffiFunction; setrlimit: KoffiFunction; mmap: KoffiFunction; munmap: KoffiFunction } | null = null;

function loadLibc() {
  libc ??= (() => {
    const c = koffi.load('libc.so.6');
    return {
      getrlimit: c.func('int getrlimit(int resource, void *rlim)'),
      setrlimit: c.func('int setrlimit(int resource, const void *rlim)'),
      mmap: c.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
      munmap: c.func('int munmap(void *addr, size_t length)'),
    };
  })();
  return libc;
}

/**
 * Lowers this process's soft and hard limit for `resource` to `value` (or keeps the hard limit when it is lower
 * already): the cell child's caps (cell-limits.ts). Throws with the errno text when the kernel refuses.
 */
export function lowerProcessLimit(resource: keyof typeof RLIMIT_NUMBER, value: number): void {
  const { getrlimit, setrlimit } = loadLibc();
  // struct rlimit { rlim_t rlim_cur, rlim_max; }, both 64-bit.
  const limit = new BigUint64Array(2);
  if (getrlimit(RLIMIT_NUMBER[resource], limit) !== 0) throw new Error(`getrlimit(${resource}): errno ${koffi.errno()}`);
  const capped = BigInt(value) < limit[1] ? BigInt(value) : limit[1];
  limit[0] = capped;
  limit[1] = capped;
  if (setrlimit(RLIMIT_NUMBER[resource], limit) !== 0) throw new Error(`setrlimit(${resource}, ${capped}): errno ${koffi.errno()}`);
}

export interface SharedFileMapping {
  /** The file's first bytes as memory: a store is in the page cache at once, and stays there if this process dies. */
  readonly bytes: Uint8Array;
  unmap(): void;
}

/** Maps the first `length` bytes of `fd` (open for reading and writing, and at least that long) shared and writable. */
export function mapSharedFile(fd: number, length: number): SharedFileMapping {
  const { mmap, munmap } = loadLibc();
  const address = mmap(null, length, PROT_READ_WRITE, MAP_SHARED, fd, 0);
  if (address === null || koffi.address(address) === MAP_FAILED) throw new Error(`mmap of fd ${fd} (${length} bytes): errno ${koffi.errno()}`);
  let mapped = true;
  return {
    bytes: new Uint8Array(koffi.view(address, length)),
    unmap() {
      if (mapped) munmap(address, length);
      mapped = false;
    },
  };
}
