// A cell in a child process of its own (cell-child.ts): a segfault, abort or hang of the module kills that process
// only. Calls are written to the child as soon as they are made and answered in order (pipelining), so throughput
// is not bound by round trips; the module still sees one call at a time.
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CellCallError, type Cell, type CellIdentity, type CellOptions } from './cell';
import { cellLimitArgs, DEFAULT_CELL_LIMITS, describeCellLimits, type CellLimits } from './cell-limits';
import { HostCellChannel } from './cell-channel';
import { CellFd, NO_STATE_EXPORT, Op, opName, type OpCode } from './cell-protocol';
import { createHostChannel } from './cell-ring';
import { OutputTail } from './output-tail';
import { decideSandbox, packageDir, programExit, spawnSandboxed } from './sandbox';
import { projectRoot } from '../paths';

/** dlopen and hp_init take no caller timeout; a module stuck in either is killed after this. */
const LOAD_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** After SIGKILL the calls are rejected once the exit is seen, or after this if the kernel is slow to reap. */
const KILL_GRACE_MS = 2_000;
/** The last output lines can still be in the pipes when 'exit' fires; 'close' says they are read. */
const OUTPUT_GRACE_MS = 100;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Weight of the newest call in the smoothed time a call runs (queuedWorkMs). */
const SERVICE_SMOOTHING = 0.2;
const EMPTY = Buffer.alloc(0);

type Shape<T> = (code: number, payload: Buffer) => T;

interface PendingCall {
  id: number;
  op: OpCode;
  timeoutMs: number;
  shape: Shape<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const asHandleAnswer: Shape<{ code: number; body: Buffer }> = (code, body) => ({ code, body });
const asCode: Shape<number> = (code) => code;
const asSelfTest: Shape<{ code: number; report: string }> = (code, report) => ({ code, report: report.toString('utf8') });
const asState: Shape<Buffer | null> = (code, state) => (code === NO_STATE_EXPORT ? null : state);
const asIdentity: Shape<CellIdentity> = (_code, json) => JSON.parse(json.toString('utf8')) as CellIdentity;

type CellState = 'idle' | 'running' | 'killing' | 'disposing' | 'gone';

export class ProcessCell implements Cell {
  readonly isolation = 'process' as const;
  private readonly label: string;
  private readonly limits: CellLimits;
  private readonly output: OutputTail;
  /** Oldest first; the child answers in this order. (V8 shifts a packed array in place, without copying.) */
  private readonly calls: PendingCall[] = [];
  private readonly deathListeners: Array<(error: CellCallError) => void> = [];
  private state: CellState = 'idle';
  private child: ChildProcess | null = null;
  private channel: HostCellChannel | null = null;
  /** What keeps the host waiting for the child's answers: its doorbell and its bulk replies. */
  private listening: Socket[] = [];
  private sending: Socket[] = [];
  private nextId = 1;
  /** When the oldest pending call started running in the child: when it was sent, or when the one before answered. */
  private headStartedAt = 0;
  /** How long a request runs in the module, smoothed over the recent ones; 0 until one has answered. */
  private serviceMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private graceTimer: NodeJS.Timeout | null = null;
  private killedFor: { call: PendingCall | null; why: string } | null = null;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  /** What a call made after the end gets: 'closed' after dispose, the crash otherwise. */
  private ending: CellCallError | null = null;
  private death: CellCallError | null = null;
  private disposal: Promise<{ resident: boolean; detail?: string }> | null = null;
  private readonly gone: Promise<void>;
  private markGone!: () => void;

  constructor(private readonly options: CellOptions) {
    this.label = path.basename(options.path);
    this.limits = options.limits ?? DEFAULT_CELL_LIMITS;
    this.output = new OutputTail(options.stderrLines ?? 20);
    this.gone = new Promise((resolve) => (this.markGone = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.state === 'running' && this.exit === null;
  }

  async open(): Promise<CellIdentity> {
    if (this.state !== 'idle' || this.disposal) throw new Error(`cell for ${this.label} was already opened`);
    const script = await cellChildScript();
    if (this.state !== 'idle') throw this.refusal();
    const modulePath = this.start(script);
    try {
      const identity = await this.call(Op.OPEN, Buffer.from(modulePath), this.options.openTimeoutMs ?? LOAD_TIMEOUT_MS, asIdentity);
      return { ...identity, pid: this.pid };
    } catch (error) {
      // Not a module, or dlopen refused it: the child has nothing left to do.
      if (!(error instanceof CellCallError)) await this.dispose();
      throw error;
    }
  }

  async init(config: Uint8Array): Promise<{ code: number; ms: number }> {
    const started = performance.now();
    const code = await this.call(Op.INIT, config, LOAD_TIMEOUT_MS, asCode);
    return { code, ms: performance.now() - started };
  }

  async selfTest(timeoutMs: number): Promise<{ code: number; report: string; ms: number }> {
    const started = performance.now();
    const { code, report } = await this.call(Op.SELF_TEST, EMPTY, timeoutMs, asSelfTest);
    return { code, report, ms: performance.now() - started };
  }

  handle(request: Uint8Array, timeoutMs: number): Promise<{ code: number; body: Buffer }> {
    return this.call(Op.HANDLE, request, timeoutMs, asHandleAnswer);
  }

  // Until a request has answered, the one running stands in for the rest: a cell whose first requests are slow
  // must not admit a second's worth of arrivals before it knows.
  queuedWorkMs(): number {
    if (this.calls.length === 0) return 0;
    return this.calls.length * (this.serviceMs || performance.now() - this.headStartedAt);
  }

  health(timeoutMs: number): Promise<number> {
    return this.call(Op.HEALTH, EMPTY, timeoutMs, asCode);
  }

  exportState(timeoutMs: number): Promise<Buffer | null> {
    return this.call(Op.EXPORT_STATE, EMPTY, timeoutMs, asState);
  }

  importState(state: Uint8Array, timeoutMs: number): Promise<number> {
    return this.call(Op.IMPORT_STATE, state, timeoutMs, asCode);
  }

  dispose(): Promise<{ resident: boolean; detail?: string }> {
    this.disposal ??= this.shutDown();
    return this.disposal;
  }

  onDeath(listener: (error: CellCallError) => void): void {
    const death = this.death;
    if (death) queueMicrotask(() => listener(death));
    else this.deathListeners.push(listener);
  }

  /** Starts the child (sandboxed: sandbox.ts); returns where it finds the module. */
  private start(script: string): string {
    let modulePath = this.options.path;
    const end = createHostChannel();
    // The child gets no environment at all: nothing of the host's settings or secrets, no NODE_OPTIONS loaders.
    let child: ChildProcess;
    try {
      child = spawnSandboxed(
        {
          command: process.execPath,
          files: { 'cell-child': script, module: this.options.path },
          readOnlyPaths: koffiPaths(),
          args: (files) => {
            modulePath = files.module;
            return [files['cell-child'], ...cellLimitArgs(this.limits)];
          },
          stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', end.childDoorbellFd, 'pipe', end.fd],
        },
        decideSandbox(this.options.sandbox),
      );
    } catch (error) {
      end.release();
      throw error;
    } finally {
      closeSync(end.fd);
      closeSync(end.childDoorbellFd);
    }
    this.child = child;
    this.state = 'running';
    const socket = (fd: number) => child.stdio[fd] as Socket;
    this.sending = [socket(CellFd.BULK_REQUESTS)];
    this.listening = [socket(CellFd.BULK_REPLIES), socket(CellFd.WAKE_HOST)];
    this.channel = new HostCellChannel(
      end,
      { bulkRequests: this.sending[0], bulkReplies: this.listening[0], wakeHost: this.listening[1] },
      {
        onReply: (id, op, code, payload) => this.onReply(id, op, code, payload),
        onBroken: (why) => this.kill(null, `it broke the cell protocol (${why})`),
        due: () => this.calls.length,
      },
    );
    // EPIPE once the child is dead: its exit is what settles the calls. Pending writes keep the loop alive on their
    // own; an idle request socket never has to.
    for (const s of [...this.sending, ...this.listening]) s.on('error', () => {});
    for (const s of this.sending) s.unref();
    this.output.capture(child.stdout!);
    this.output.capture(child.stderr!);
    child.on('error', (error) => {
      this.output.note(`spawn failed: ${error.message}`);
      if (child.pid === undefined) this.onChildGone();
    });
    child.on('exit', (code, signal) => {
      this.exit = programExit(child, code, signal);
      // Nothing more can be sent, and the child's 'close' waits for every one of its sockets.
      for (const s of this.sending) s.destroy();
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => this.onChildGone(), OUTPUT_GRACE_MS);
    });
    child.on('close', () => this.onChildGone());
    (child.stdout as Socket).unref();
    (child.stderr as Socket).unref();
    this.holdHostOpen(false);
    return modulePath;
  }

  // An idle cell does not keep the host process alive. While anything waits on the child (calls, a kill, a
  // dispose) both its reply socket and its process handle must: without the latter its exit would go unnoticed.
  private holdHostOpen(hold: boolean): void {
    for (const socket of this.listening) {
      if (hold) socket.ref();
      else socket.unref();
    }
    if (hold) this.child!.ref();
    else this.child!.unref();
  }

  private call<T>(op: OpCode, payload: Uint8Array, timeoutMs: number, shape: Shape<T>): Promise<T> {
    if (this.state !== 'running') return Promise.reject(this.refusal());
    return new Promise<T>((resolve, reject) => {
      this.send({ id: this.takeId(), op, timeoutMs, shape, resolve: resolve as (value: unknown) => void, reject }, payload);
    });
  }

  // Ids are u32 on the wire and only need to be unique among the calls in flight.
  private takeId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    return id;
  }

  private send(call: PendingCall, payload: Uint8Array): void {
    this.calls.push(call);
    if (this.calls.length === 1) {
      this.holdHostOpen(true);
      this.headStartedAt = performance.now();
      this.armTimer();
    }
    this.channel!.send(call.id, call.op, payload);
  }

  private onReply(id: number, op: number, code: number, payload: Buffer): void {
    const call = this.calls[0];
    // The child answers strictly in order: anything else means its side of the protocol is broken.
    if (!call || call.id !== id) throw new Error(`reply to call ${id}, expected ${call ? `call ${call.id}` : 'none'}`);
    this.calls.shift();
    const now = performance.now();
    // Requests only: loading and probes run rarely, and a cell's queue is made of requests.
    if (call.op === Op.HANDLE) {
      const ran = now - this.headStartedAt;
      this.serviceMs = this.serviceMs === 0 ? ran : this.serviceMs + SERVICE_SMOOTHING * (ran - this.serviceMs);
    }
    if (this.calls.length > 0) {
      this.headStartedAt = now;
      this.armTimer();
    } else if (this.state === 'running') {
      this.holdHostOpen(false);
    }
    if (op === Op.FAILED) call.reject(new Error(`${opName(call.op)} in cell ${this.label}: ${payload.toString('utf8')}`));
    else call.resolve(call.shape(code, payload));
  }

  // One timer per cell, not per call: it is due no later than the oldest call's deadline, and when it fires early
  // (that call answered meanwhile) it re-arms for the call now in front. A timeout bounds how long a call runs in the
  // module, not how long it queued behind others, so a busy cell is never killed for being busy.
  private armTimer(): void {
    const head = this.calls[0];
    if (!head) return;
    const due = this.headStartedAt + head.timeoutMs;
    if (!Number.isFinite(due) || (this.timer && this.timerDue <= due)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.onTimer(), Math.min(Math.max(0, due - performance.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const head = this.calls[0];
    if (!head || this.state === 'killing' || this.state === 'gone') return;
    if (performance.now() - this.headStartedAt >= head.timeoutMs) {
      this.kill(head, `${opName(head.op)} did not answer within ${head.timeoutMs} ms`);
    } else {
      this.armTimer();
    }
  }

  private kill(call: PendingCall | null, why: string): void {
    if (this.state === 'killing' || this.state === 'gone') return;
    this.killedFor = { call, why };
    if (this.state === 'running') this.state = 'killing';
    this.holdHostOpen(true);
    this.child!.kill('SIGKILL');
    this.graceTimer = setTimeout(() => this.onChildGone(), KILL_GRACE_MS);
  }

  private onChildGone(): void {
    if (this.state === 'gone') return;
    const disposing = this.state === 'disposing';
    // Replies the child wrote before it exited (a shutdown's, or answers that raced its crash) still count.
    if (!this.killedFor) this.channel?.drainFinal();
    this.channel?.close();
    this.state = 'gone';
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    if (this.child) this.holdHostOpen(false);
    const signal = this.exit?.signal ?? (this.killedFor ? 'SIGKILL' : null);
    const details = { signal, exitCode: this.exit?.code ?? null, stderrTail: this.output.text() };
    const pending = this.calls.splice(0);
    const where = `cell ${this.label} (pid ${this.pid ?? 'none'})`;
    const how = signal ? `died of ${signal}` : `exited with code ${details.exitCode}`;
    const during = pending[0] ? ` during ${opName(pending[0].op)}` : '';
    // A death at a cap looks like any other (SIGABRT, SIGSEGV, an exit): the caps beside it let a reader tell.
    const caps = ` (${describeCellLimits(this.limits)})`;
    const kind = disposing ? 'closed' : 'crashed';
    const died = this.killedFor
      ? new CellCallError(kind, `${where} was killed: ${this.killedFor.why}`, details)
      : new CellCallError(kind, `${where} ${how}${during}${caps}`, details);
    const timedOut = this.killedFor?.call ?? null;
    const timeout = timedOut && new CellCallError('timeout', `${this.killedFor!.why}; ${where} was killed`, details);
    // The child runs one call at a time, in order: only the oldest can have reached the module. The ones behind it
    // never did, unless the child was killed for breaking the protocol, when nothing it said can be trusted.
    const trusted = !this.killedFor || this.killedFor.call !== null;
    const notRun = new CellCallError(disposing ? 'closed' : 'not-run', `${where} ${this.killedFor ? 'was killed' : how} before this call reached the module`, details);
    pending.forEach((call, i) => call.reject(call === timedOut ? timeout! : i > 0 && trusted ? notRun : died));
    this.ending = disposing ? new CellCallError('closed', `cell ${this.label} is disposed`) : died;
    this.markGone();
    if (disposing) return;
    this.death = timeout ?? died;
    for (const listener of this.deathListeners.splice(0)) listener(this.death);
  }

  private refusal(): CellCallError {
    if (this.state === 'idle') return new CellCallError('closed', `cell ${this.label} is not open`);
    if (this.state === 'disposing') return new CellCallError('closed', `cell ${this.label} is disposed`);
    if (this.state === 'killing') return new CellCallError('crashed', `cell ${this.label} is being killed: ${this.killedFor!.why}`);
    return this.ending!;
  }

  // hp_shutdown in the child, whose exit then unloads the module; pending calls are answered first (they are ahead
  // of the shutdown in the queue). The host's memory never held the library, so a process cell is never resident.
  private async shutDown(): Promise<{ resident: boolean; detail?: string }> {
    if (this.state === 'idle') {
      this.state = 'gone';
      this.ending = new CellCallError('closed', `cell ${this.label} is disposed`);
      return { resident: false, detail: 'never opened' };
    }
    if (this.state === 'gone') return { resident: false, detail: `the cell had already ended: ${this.ending!.message}` };
    if (this.state === 'running') {
      this.state = 'disposing';
      this.send({ id: this.takeId(), op: Op.SHUTDOWN, timeoutMs: SHUTDOWN_TIMEOUT_MS, shape: asCode, resolve: () => {}, reject: () => {} }, EMPTY);
    }
    await this.gone;
    if (this.killedFor) return { resident: false, detail: `killed: ${this.killedFor.why}` };
    const runtime = this.options.goRuntime ? ' (a Go runtime is retired with its process)' : '';
    return { resident: false, detail: `child exited with code ${this.exit?.code ?? 'unknown'}${runtime}` };
  }
}

// Resolved from the project folder at run time, not from import.meta.url: the console's bundler rewrites
// import.meta.url and require.resolve in the code it bundles (preflight and upload probes run cells there too).
const requireFromProject = () => createRequire(path.join(projectRoot(), 'package.json'));

/** koffi and its native binary, which the cell child imports from this install; a sandbox sees only these. */
function koffiPaths(): string[] {
  const koffi = packageDir(requireFromProject().resolve('koffi'), 'koffi');
  return [koffi, path.join(path.dirname(koffi), '@koromix')];
}

const childSource = () => path.join(projectRoot(), 'server', 'host', 'cell-child.ts');
let childScript: Promise<string> | undefined;

/**
 * The child entry compiled once per host process into one plain .mjs (koffi left external, imported from this
 * install). Under `node --import tsx` a child needs ~195 ms to answer its first frame, mostly tsx's loader start-up;
 * the compiled one needs about as long as node itself (~55 ms). The compiler is tsx's own esbuild, resolved through
 * tsx so both always agree. The file lives in a private temporary directory, removed when the host exits.
 */
export function cellChildScript(): Promise<string> {
  // A failed compile is not remembered: the next cell tries again.
  childScript ??= compileChildScript().catch((error: unknown) => {
    childScript = undefined;
    throw error;
  });
  return childScript;
}

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
  stop(): Promise<void>;
}

async function compileChildScript(): Promise<string> {
  const requireHere = requireFromProject();
  const esbuild = createRequire(requireHere.resolve('tsx/package.json'))('esbuild') as Esbuild;
  const koffi = pathToFileURL(realpathSync(requireHere.resolve('koffi'))).href;
  // stop() afterwards: esbuild would otherwise keep a service process for the host's lifetime; any later user of
  // esbuild in this process (tsx's hooks) gets a fresh one on demand.
  const result = await esbuild.build({
    entryPoints: [childSource()],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'koffi-of-this-install',
        setup(build: { onResolve(filter: { filter: RegExp }, resolve: () => { path: string; external: boolean }): void }) {
          build.onResolve({ filter: /^koffi$/ }, () => ({ path: koffi, external: true }));
        },
      },
    ],
  }).finally(() => esbuild.stop());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-cell-child-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'cell-child.mjs');
  writeFileSync(script, result.outputFiles[0].text, { mode: 0o600 });
  return script;
}
