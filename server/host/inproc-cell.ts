// A cell inside the host process: module calls are synchronous koffi calls on the host's own thread. This is the
// trade-off an operator accepts by choosing inproc isolation: the fastest calls, but nothing stands between the
// module and the host. A crashing module takes the host down (crash-marker.ts tells who did it), and a hanging one
// blocks the host's event loop: timeouts cannot be enforced here, so the timeoutMs arguments are ignored.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CellCallError, type Cell, type CellIdentity } from './cell';
import { isLibraryResident, ModuleLibrary, type ModuleResponse } from './module-library';

/**
 * Opens `file` as a new instance even when an earlier one of it is still mapped (resident): dlopen of a mapped
 * file (same path or inode) hands back the old instance, its state past hp_shutdown included. A copy under a new
 * path and inode is mapped anew by glibc; it is unlinked once open (the mapping keeps it) and beside the original,
 * because a temp folder may be mounted noexec.
 */
function openFreshInstance(file: string): { library: ModuleLibrary; copied: boolean } {
  if (!isLibraryResident(file)) return { library: ModuleLibrary.open(file), copied: false };
  let folder: string | undefined;
  try {
    folder = mkdtempSync(path.join(path.dirname(file), '.fresh-instance-'));
    copyFileSync(file, path.join(folder, path.basename(file)));
  } catch (error) {
    if (folder) rmSync(folder, { recursive: true, force: true });
    throw new Error(
      `an earlier instance of ${file} is still resident (dlclose could not unmap it) and no fresh copy could be made beside it ` +
        `(${(error as Error).message}); refused rather than reusing the old instance: restart the host, or run the version in a process cell`,
    );
  }
  try {
    return { library: ModuleLibrary.open(path.join(folder, path.basename(file))), copied: true };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export class InprocCell implements Cell {
  readonly isolation = 'inproc' as const;
  readonly pid = undefined;
  private library: ModuleLibrary | null = null;
  private opened = false;
  private disposal: Promise<{ resident: boolean; detail?: string }> | null = null;
  /** Loaded from a copy because an earlier instance of the file stays resident. */
  freshCopy = false;

  // glibc shares one instance per file (path, inode or SONAME) within a process, so two inproc cells of one file
  // would share the module's state: the host gives every version its own file.
  constructor(private readonly path: string) {}

  get alive(): boolean {
    return this.library !== null;
  }

  async open(): Promise<CellIdentity> {
    if (this.opened) throw new Error(`cell for ${this.path} is already open`);
    this.opened = true;
    const started = performance.now();
    const { library, copied } = openFreshInstance(this.path);
    const dlopenMs = performance.now() - started;
    this.library = library;
    this.freshCopy = copied;
    return {
      abiVersion: library.abiVersion(),
      name: library.name(),
      version: library.version(),
      supportsStateHandOff: library.supportsStateHandOff,
      dlopenMs,
    };
  }

  queuedWorkMs(): number {
    return 0;
  }

  async init(config: Uint8Array): Promise<{ code: number; ms: number }> {
    const library = this.live();
    const started = performance.now();
    const code = library.init(config);
    return { code, ms: performance.now() - started };
  }

  async selfTest(_timeoutMs: number): Promise<{ code: number; report: string; ms: number }> {
    const library = this.live();
    const started = performance.now();
    const { code, report } = library.selfTest();
    return { code, report, ms: performance.now() - started };
  }

  /** The embedding fast path: the module's answer without a Promise. Throws CellCallError 'closed' once disposed. */
  handleSync(request: Uint8Array): ModuleResponse {
    return this.live().handle(request);
  }

  async handle(request: Uint8Array, _timeoutMs: number): Promise<ModuleResponse> {
    return this.live().handle(request);
  }

  async health(_timeoutMs: number): Promise<number> {
    return this.live().health();
  }

  async exportState(_timeoutMs: number): Promise<Buffer | null> {
    return this.live().exportState();
  }

  async importState(state: Uint8Array, _timeoutMs: number): Promise<number> {
    return this.live().importState(state);
  }

  dispose(): Promise<{ resident: boolean; detail?: string }> {
    this.disposal ??= this.unload();
    return this.disposal;
  }

  // Nothing to report: an inproc module that dies takes this process with it.
  onDeath(_listener: (error: CellCallError) => void): void {}

  private async unload(): Promise<{ resident: boolean; detail?: string }> {
    const library = this.library;
    this.library = null;
    if (!library) return { resident: false, detail: 'never loaded' };
    try {
      library.shutdown();
    } finally {
      library.close();
    }
    // The library object refuses calls from now on whatever the answer: calling into an unmapped library would crash
    // the host, and calling into a resident one after hp_shutdown breaks the ABI's lifecycle.
    if (isLibraryResident(library.realPath)) {
      return { resident: true, detail: `${library.realPath} is still mapped after dlclose` };
    }
    return { resident: false };
  }

  private live(): ModuleLibrary {
    if (this.library) return this.library;
    throw new CellCallError('closed', `cell for ${this.path} ${this.disposal ? 'is disposed' : 'has no loaded module'}`);
  }
}
