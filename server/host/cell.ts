// A cell hosts exactly one loaded version of one module, either inside this process (inproc-cell.ts) or in a child
// process of its own (process-cell.ts), behind one interface. The caller hands over the path of a private read-only
// copy of the verified file; a cell loads exactly that path and nothing else.
import type { CellLimits } from './cell-limits';
import { InprocCell } from './inproc-cell';
import { ProcessCell } from './process-cell';
import type { SandboxSettings } from './sandbox';
import type { Isolation } from '../protocol';

export type CellFailureKind = 'timeout' | 'crashed' | 'not-run' | 'closed';

/**
 * Why a call got no answer from the module: it ran past its timeout (the cell was killed), the cell died (signal,
 * exit) while running it, the cell died before the module ever saw it (`not-run`: it was queued behind the call
 * that died, so it is safe to send elsewhere), or the cell was disposed. Not used for module return codes, which
 * are answers.
 */
export class CellCallError extends Error {
  readonly kind: CellFailureKind;
  readonly signal?: string | null;
  readonly exitCode?: number | null;
  /** The last lines the cell's process printed (stderr and stdout), oldest first. */
  readonly stderrTail?: string;

  constructor(
    kind: CellFailureKind,
    message: string,
    details: { signal?: string | null; exitCode?: number | null; stderrTail?: string } = {},
  ) {
    super(message);
    this.name = 'CellCallError';
    this.kind = kind;
    this.signal = details.signal;
    this.exitCode = details.exitCode;
    this.stderrTail = details.stderrTail;
  }
}

export interface CellIdentity {
  abiVersion: number;
  name: string;
  version: string;
  supportsStateHandOff: boolean;
  /** dlopen plus declaring the ABI, measured where it happens (in the child for a process cell). */
  dlopenMs: number;
  pid?: number;
}

export interface Cell {
  readonly isolation: Isolation;
  /** The child's pid for a process cell; undefined in-process. */
  readonly pid: number | undefined;
  /** Loads the .so (a process cell spawns its child first). Once per cell. */
  open(): Promise<CellIdentity>;
  init(config: Uint8Array): Promise<{ code: number; ms: number }>;
  selfTest(timeoutMs: number): Promise<{ code: number; report: string; ms: number }>;
  /** Rejects with CellCallError only; any module return code resolves. */
  handle(request: Uint8Array, timeoutMs: number): Promise<{ code: number; body: Buffer }>;
  /** About how long the calls already queued here will run before a new one starts (0 in-process: nothing queues). */
  queuedWorkMs(): number;
  health(timeoutMs: number): Promise<number>;
  /** null when the module has no hp_state_export. */
  exportState(timeoutMs: number): Promise<Buffer | null>;
  importState(state: Uint8Array, timeoutMs: number): Promise<number>;
  /** hp_shutdown, then unload. Idempotent. `resident` when the library is still mapped into this process after. */
  dispose(): Promise<{ resident: boolean; detail?: string }>;
  /** The cell died on its own or was killed after a timeout (never for dispose). A late listener still hears of it. */
  onDeath(listener: (error: CellCallError) => void): void;
  readonly alive: boolean;
}

export interface CellOptions {
  path: string;
  isolation: Isolation;
  /** The .so carries a Go runtime (it has a .go.buildinfo section). */
  goRuntime: boolean;
  /** How many of the child's last output lines a crash report keeps (process cells; default 20). */
  stderrLines?: number;
  /** Memory and descriptor caps of a process cell (default DEFAULT_CELL_LIMITS); in-process cells have none. */
  limits?: CellLimits;
  /** bubblewrap and whether a process cell may run without it (default: from the settings, sandbox.ts). */
  sandbox?: SandboxSettings;
  /** How long a process cell's start and dlopen may take before it is killed (default 30 s; the upload's identity probe sets its own). */
  openTimeoutMs?: number;
}

export function createCell(options: CellOptions): Cell {
  if (options.isolation === 'process') return new ProcessCell(options);
  if (options.goRuntime) {
    throw new Error(
      `${options.path} is a Go module and needs its own process: two Go runtimes cannot share a process and a Go ` +
        'runtime can never be unloaded (golang/go #65050, #11100, #18976). Use process isolation.',
    );
  }
  return new InprocCell(options.path);
}
