// The one way Hotplane starts a process that loads module code (process cells, the preflight probe, the upload
// identity probe): inside a bubblewrap sandbox (Debian's `bubblewrap`), so a module — untrusted code even when
// signed — sees only the system libraries, node, koffi, its own script and its one artifact, all read-only; no data
// folder, no checkout, no /tmp of the host, no environment, no network, no way to gain privileges, and it dies with
// whoever started it. Started as root, the sandbox also runs as an unprivileged user (nobody). What each layer stops
// is in docs/host.md#sandbox.
//
// Without bubblewrap: demo mode runs the child unsandboxed and says so loudly; outside demo mode it is refused
// unless HOTPLANE_ALLOW_UNSANDBOXED=1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config';

/** The unprivileged user a sandbox runs as when Hotplane runs as root (Debian's nobody/nogroup). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/** Where a sandboxed child finds the files copied in for it. */
const SANDBOX_FILES_DIR = '/hotplane';
/** System folders every child needs (libc, the dynamic loader, node and what it links); bound read-only. */
const SYSTEM_PATHS = ['/usr', '/lib', '/lib64'];

export interface SandboxSettings {
  bwrapPath: string;
  demoMode: boolean;
  allowUnsandboxed: boolean;
}

export interface Bubblewrap {
  path: string;
  version: string;
}

export type SandboxDecision =
  | { sandboxed: true; bwrap: Bubblewrap; uid: number | undefined }
  | { sandboxed: false; warning: string };

export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

export function sandboxSettingsFromConfig(): SandboxSettings {
  const { bwrapPath, demoMode, allowUnsandboxed } = loadConfig();
  return { bwrapPath, demoMode, allowUnsandboxed };
}

const detected = new Map<string, Bubblewrap | null>();

/** bubblewrap at this path and its version, or null when it is missing or does not run. Asked once per path. */
export function detectBubblewrap(bwrapPath: string): Bubblewrap | null {
  if (!detected.has(bwrapPath)) {
    try {
      const out = execFileSync(bwrapPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
      detected.set(bwrapPath, { path: bwrapPath, version: out.trim().replace(/^bubblewrap\s*/, '') });
    } catch {
      detected.set(bwrapPath, null);
    }
  }
  return detected.get(bwrapPath)!;
}

const installHint = (bwrapPath: string) =>
  `bubblewrap was not found at ${bwrapPath} (install it: apt-get install -y bubblewrap, or point HOTPLANE_BWRAP at it)`;

/** Whether children that load module code run sandboxed; throws SandboxUnavailableError when they may not run. */
export function decideSandbox(settings: SandboxSettings = sandboxSettingsFromConfig()): SandboxDecision {
  const bwrap = detectBubblewrap(settings.bwrapPath);
  if (bwrap) return { sandboxed: true, bwrap, uid: process.getuid?.() === 0 ? SANDBOX_UID : undefined };
  if (settings.demoMode || settings.allowUnsandboxed) {
    const why = settings.demoMode ? 'demo mode' : 'HOTPLANE_ALLOW_UNSANDBOXED=1';
    return { sandboxed: false, warning: `process cells are NOT sandboxed (${why}): ${installHint(settings.bwrapPath)}; a module can read everything this user can` };
  }
  throw new SandboxUnavailableError(
    `refusing to run module code without a sandbox: ${installHint(settings.bwrapPath)}. ` +
      'To run process cells unsandboxed anyway outside demo mode, set HOTPLANE_ALLOW_UNSANDBOXED=1',
  );
}

const warned = new Set<string>();
const inSandbox = new WeakSet<ChildProcess>();

function warnOnce(warning: string): void {
  if (warned.has(warning)) return;
  warned.add(warning);
  console.error(`hotplane: WARNING: ${warning}`);
}

/** What the sandbox status banner shows: sandboxed or not, and why. */
export function sandboxStatus(settings: SandboxSettings = sandboxSettingsFromConfig()): { sandboxed: boolean; detail: string } {
  try {
    const decision = decideSandbox(settings);
    if (decision.sandboxed) return { sandboxed: true, detail: `bubblewrap ${decision.bwrap.version}${decision.uid === undefined ? '' : ', as user nobody'}` };
    return { sandboxed: false, detail: decision.warning };
  } catch (error) {
    return { sandboxed: false, detail: (error as Error).message };
  }
}

export interface SandboxedChild {
  /** The program inside the sandbox (a system path or one of `files`). */
  command: string;
  /** Its arguments, given where each of `files` is as the child sees it. */
  args: (files: Record<string, string>) => string[];
  /** Files the child may read, by name: copied into the sandbox read-only (the artifact, the child's script). */
  files?: Record<string, string>;
  /**
   * Folders (or files) the child may read, bound read-only at their own path or at `target`; they must be readable
   * by the sandbox user and hold nothing secret.
   */
  readOnlyPaths?: Array<string | { source: string; target: string }>;
  /** Folder the child starts in; inside a sandbox it must be one of the bound ones. */
  cwd?: string;
  /** The child's whole environment (nothing is inherited). */
  env?: Record<string, string>;
  /** The child's descriptors 0.. as for spawn; the sandbox adds its own after them. */
  /** A number hands the child that descriptor of the host's (a process cell's channel memfd). */
  stdio: Array<'pipe' | 'ignore' | 'inherit' | number>;
  /** A scratch /tmp (tsx needs one for its cache); it is private to the sandbox and gone with it. */
  scratchTmp?: boolean;
}

/** `realpath` of an installed package's folder, resolved from a file inside it. */
export function packageDir(resolvedFile: string, packageName: string): string {
  const real = realpathSync(resolvedFile);
  const marker = `${path.sep}node_modules${path.sep}${packageName}${path.sep}`;
  const at = real.lastIndexOf(marker);
  if (at < 0) throw new Error(`${real} is not inside a node_modules/${packageName} folder`);
  return real.slice(0, at + marker.length - 1);
}

function bwrapArgs(request: SandboxedChild, fileFds: Array<{ target: string; fd: number }>): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv', '--proc', '/proc', '--dev', '/dev'];
  for (const system of SYSTEM_PATHS) args.push('--ro-bind-try', system, system);
  for (const bind of request.readOnlyPaths ?? []) {
    if (typeof bind === 'string') args.push('--ro-bind', bind, bind);
    else args.push('--ro-bind', bind.source, bind.target);
  }
  if (request.scratchTmp) args.push('--tmpfs', '/tmp');
  for (const { target, fd } of fileFds) args.push('--perms', '0555', '--ro-bind-data', String(fd), target);
  for (const [name, value] of Object.entries(request.env ?? {})) args.push('--setenv', name, value);
  args.push('--chdir', request.cwd ?? SANDBOX_FILES_DIR);
  return args;
}

/**
 * Spawns a child that will load module code, sandboxed (see the top of this file). Throws SandboxUnavailableError
 * when it may not run at all. The caller reads and writes the child's stdio as with spawn.
 */
export function spawnSandboxed(request: SandboxedChild, decision: SandboxDecision = decideSandbox()): ChildProcess {
  const files = request.files ?? {};
  if (!decision.sandboxed) {
    warnOnce(decision.warning);
    return spawn(request.command, request.args(files), { cwd: request.cwd, env: (request.env ?? {}) as NodeJS.ProcessEnv, stdio: request.stdio });
  }
  const inside: Record<string, string> = {};
  const fileFds: Array<{ target: string; fd: number; opened: number }> = [];
  try {
    for (const [name, source] of Object.entries(files)) {
      const target = path.posix.join(SANDBOX_FILES_DIR, `${name}${path.extname(source)}`);
      inside[name] = target;
      fileFds.push({ target, fd: request.stdio.length + fileFds.length, opened: openSync(source, 'r') });
    }
    const args = [...bwrapArgs(request, fileFds), request.command, ...request.args(inside)];
    const stdio = [...request.stdio, ...fileFds.map((f) => f.opened)];
    // bwrap itself starts with an empty environment: its --setenv list is all the child gets.
    const child = spawn(decision.bwrap.path, args, { env: {} as NodeJS.ProcessEnv, stdio, uid: decision.uid, gid: decision.uid === undefined ? undefined : SANDBOX_GID });
    inSandbox.add(child);
    return child;
  } finally {
    // The child has its copies; bwrap reads each into the sandbox before it starts the program.
    for (const { opened } of fileFds) closeSync(opened);
  }
}

/**
 * The exit as the program inside saw it: bwrap reports a child killed by a signal as exit code 128 + signal, which
 * is turned back into the signal so crash reports read the same sandboxed or not.
 */
export function programExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (!inSandbox.has(child) || signal || code === null || code <= 128) return { code, signal };
  const name = Object.entries(os.constants.signals).find(([, number]) => number === code - 128)?.[0] as NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code, signal };
}
