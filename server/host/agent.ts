import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FLEET_HEADERS, FLEET_PATHS, LONG_POLL, parseDesiredState, type DesiredState, type HostReport } from '../protocol';
import type { ArtifactFetcher } from './artifact-cache';
import { ConsoleLinks, ConsoleUnavailable, saying, type FetchLike } from './console-links';
import type { LocalBreakGlass } from './break-glass';
import type { ConsoleApprovals } from './console-approvals';
import type { Host } from './host';

// The desired state is long-polled: the console holds the request until the state changes (or LONG_POLL's wait
// ends), so a rollback reaches the host as soon as it is written and an idle fleet costs the console nothing per
// host. Reports go on their own clock: once a second, and at once after an apply or a crash (checked every
// TICK_MS, locally), so the console confirms a step or rolls a crashed canary back without waiting.
const REPORT_MS = 1_000;
const TICK_MS = 250;
/**
 * The least time between two desired-state requests that changed nothing: a console that answers a long-poll at
 * once (one without long-poll support) is then polled 4 times a second, as before long-polls, not in a busy loop.
 */
const MIN_PULL_MS = 250;
/** Before asking again for a state the host could not apply yet (artifacts missing) or refused. */
const AWAITING_RETRY_MS = 250;
const REFUSED_RETRY_MS = 1_000;
const MAX_UNSENT_SAMPLES = 20_000;
const MAX_UNSENT_EVENTS = 500;

/** What the agent needs of the host: a Host, or with workers the primary standing for all of them (workers/primary.ts). */
export type AgentHost = Pick<Host, 'generation' | 'locallyOverridden' | 'applyDesiredState' | 'awaitingArtifacts' | 'reportDue' | 'report'>;

export interface AgentOptions {
  /** One console URL, several, or a comma-separated list: the agent fails over between them (console-links.ts). */
  controlPlane: string | readonly string[];
  dataDir: string;
  /** Told every desired state the console sends, so the local admin can only use versions the console approved. */
  approvals?: ConsoleApprovals;
  /** Told every desired state too (its stables are the break-glass targets); its unreported break-glasses go first. */
  breakGlass?: Pick<LocalBreakGlass, 'observe' | 'pending' | 'settle'>;
  log?: (line: string) => void;
  /** How requests reach a console: the host's mutual-TLS transport (fleet-transport.ts); the global fetch in tests. */
  fetch?: FetchLike;
  /** How long the console may hold a desired-state request, in seconds (LONG_POLL.hostSeconds by default). */
  waitSeconds?: number;
}

/** The console answered, but its desired state was not applied (refused, or failed to apply); the report still went out. */
class ApplyError extends Error {}

// The host's link to the console: pull desired state, push reports. The last desired state is kept on the
// host's disk, so a restarted host serves it even while every console is down, and reconciles when one returns.
export class ControlPlaneAgent {
  private etag: string | null = null;
  private readonly consoles: ConsoleLinks;
  private readonly fetcher: FetchLike;
  private running = false;
  private ticker: NodeJS.Timeout | null = null;
  /** The long-poll in flight, and whether it asked "unless changed" (a local override must cut it short). */
  private poll: { abort: AbortController; conditional: boolean } | null = null;
  private wake: (() => void) | null = null;
  private reporting = false;
  private reportNow = false;
  private lastReportAt = 0;
  private connectedTo: string | null | undefined = undefined;
  /** The last apply failure logged, so a failure repeated every poll is logged once. */
  private applyProblem: string | null = null;
  private readonly stateFile: string;
  private unsent: { metrics: HostReport['metrics']; events: HostReport['events'] } = { metrics: [], events: [] };

  constructor(
    private readonly host: AgentHost,
    private readonly options: AgentOptions,
  ) {
    this.stateFile = path.join(options.dataDir, 'desired-state.json');
    this.consoles = new ConsoleLinks(options.controlPlane);
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The console the agent talks to now. */
  get console(): string {
    return this.consoles.current;
  }

  private request(what: string, pathAndQuery: string, init: Parameters<FetchLike>[1] = {}) {
    return this.consoles.request(this.fetcher, what, pathAndQuery, init);
  }

  readonly fetchArtifact: ArtifactFetcher = async (sm3) => {
    const response = await this.request(`artifact ${sm3}`, FLEET_PATHS.artifact(sm3));
    if (!response.ok || !response.body) throw new Error(`console answered ${response.status}${await saying(response)}`);
    return response.body;
  };

  async restorePersistedState(): Promise<DesiredState | null> {
    const text = await readFile(this.stateFile, 'utf8').catch(() => null);
    if (!text) return null;
    const parsed = parseDesiredState(JSON.parse(text));
    if (!parsed.ok) throw new Error(`${this.stateFile}: ${parsed.problem}`);
    await this.host.applyDesiredState(parsed.state);
    this.options.log?.(`serving persisted desired state generation ${parsed.state.generation}`);
    return parsed.state;
  }

  private async persist(state: DesiredState) {
    await mkdir(this.options.dataDir, { recursive: true });
    const temp = `${this.stateFile}.tmp`;
    await writeFile(temp, JSON.stringify(state));
    await rename(temp, this.stateFile);
  }

  private setConnected(connected: boolean, detail: string) {
    const now = connected ? this.consoles.current : null;
    if (this.connectedTo === now) return;
    this.connectedTo = now;
    this.options.log?.(connected ? `connected to the console ${now}` : `console unreachable (${detail}); serving the last desired state, trying ${this.consoles.current}`);
  }

  /**
   * One desired-state request: held by the console up to `waitSeconds` when the host already runs the current
   * state. A state that fails the protocol's schema is refused whole, and the host keeps serving its last good one.
   * Says whether a new state was applied.
   */
  async pullOnce(waitSeconds = 0): Promise<boolean> {
    await this.reportBreakGlass();
    // After a local override the host no longer runs what the ETag stands for: ask for the whole state again.
    const overridden = this.host.locallyOverridden;
    const conditional = this.etag !== null && !overridden;
    const query = conditional && waitSeconds > 0 ? `?${LONG_POLL.param}=${waitSeconds}` : '';
    const abort = new AbortController();
    this.poll = { abort, conditional };
    let response: Response;
    try {
      response = await this.request('desired state', `${FLEET_PATHS.desiredState}${query}`, { headers: conditional ? { [FLEET_HEADERS.ifNoneMatch]: this.etag! } : {}, signal: abort.signal });
    } finally {
      this.poll = null;
    }
    if (response.status === 304) return false;
    if (response.status !== 200) throw new Error(`desired state: HTTP ${response.status}${await saying(response)}`);
    const parsed = parseDesiredState(await response.json().catch(() => 'not JSON'));
    if (!parsed.ok) throw new ApplyError(`refused the desired state from ${this.consoles.current} (${parsed.problem}); serving generation ${this.host.generation}`);
    const state = parsed.state;
    await this.options.approvals?.record(state);
    await this.options.breakGlass?.observe(state);
    let applied = false;
    if (state.generation !== this.host.generation || overridden) {
      applied = true;
      if (overridden) this.options.log?.(`a local override was in place; re-applying the console's desired state generation ${state.generation}`);
      await this.persist(state);
      await this.host.applyDesiredState(state).catch((error: unknown) => {
        throw new ApplyError(`generation ${state.generation} not applied (${error instanceof Error ? error.message : String(error)}); serving generation ${this.host.generation}, retrying`);
      });
    } else if (this.host.awaitingArtifacts()) {
      await this.host.applyDesiredState(state);
    }
    // Only an applied state is remembered: a 304 must never stand for a state the host does not run, nor for one
    // whose missing artifacts the host still has to fetch.
    if (!this.host.awaitingArtifacts()) this.etag = response.headers.get(FLEET_HEADERS.etag);
    return applied;
  }

  /**
   * Tells the console every break-glass made here while it was away, before anything it says is applied: the console
   * adopts one (its desired state becomes the rolled-back one) or refuses it (its state stands and is applied next).
   * An unreachable console or a 5xx leaves it to be sent again, and no state is pulled meanwhile.
   */
  private async reportBreakGlass() {
    const breakGlass = this.options.breakGlass;
    for (const made of breakGlass?.pending() ?? []) {
      const response = await this.request('break-glass', FLEET_PATHS.breakGlass, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(made) });
      if (response.status >= 500) throw new Error(`break-glass: HTTP ${response.status}${await saying(response)}`);
      this.options.log?.(
        response.ok
          ? `the console adopted the break-glass of ${made.module} to ${made.to.version}`
          : `the console refused the break-glass of ${made.module} to ${made.to.version} (HTTP ${response.status}${await saying(response)}); its desired state is applied`,
      );
      await breakGlass!.settle(made.id);
    }
  }

  /** Pushes a report when one is due (or `force`); samples and events of a refused push go out with the next. */
  async reportOnce(force = false): Promise<void> {
    const unsent = this.unsent.events.length > 0 || this.unsent.metrics.length > 0;
    if (!force && !unsent && !this.host.reportDue(this.lastReportAt, REPORT_MS)) return;
    const report = this.host.report();
    // Bounded: the last 10 minutes' worth.
    report.metrics = [...this.unsent.metrics, ...report.metrics].slice(-MAX_UNSENT_SAMPLES);
    report.events = [...this.unsent.events, ...report.events].slice(-MAX_UNSENT_EVENTS);
    this.unsent = { metrics: report.metrics, events: report.events };
    const pushed = await this.request('report', FLEET_PATHS.report, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
    if (!pushed.ok) {
      // A report the console refuses for what it says (a cap broken) is refused again if resent: it is dropped.
      if (pushed.status === 413 || pushed.status === 422) this.unsent = { metrics: [], events: [] };
      throw new Error(`report: HTTP ${pushed.status}${await saying(pushed)}`);
    }
    this.unsent = { metrics: [], events: [] };
    this.lastReportAt = Date.now();
  }

  /** One pull (not held) and the report it makes due: start-up, and tests. */
  async syncOnce(): Promise<void> {
    let notApplied: unknown = null;
    const applied = await this.pullOnce(0).catch((error: unknown) => {
      if (!(error instanceof ApplyError)) throw error;
      notApplied = error;
      return true;
    });
    await this.reportOnce(applied);
    if (notApplied) throw notApplied;
  }

  private noteProblem(error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ApplyError) {
      if (message !== this.applyProblem) this.options.log?.((this.applyProblem = message));
    } else {
      this.setConnected(false, message);
    }
  }

  private async pullLoop() {
    while (this.running) {
      let pauseMs = 0;
      const started = Date.now();
      try {
        const applied = await this.pullOnce(this.options.waitSeconds ?? LONG_POLL.hostSeconds);
        this.reportNow ||= applied;
        this.setConnected(true, '');
        this.applyProblem = null;
        if (!applied) pauseMs = MIN_PULL_MS - (Date.now() - started);
        if (this.host.awaitingArtifacts() || this.host.locallyOverridden) pauseMs = AWAITING_RETRY_MS;
      } catch (error) {
        if (!this.running) return;
        // Cut short by a local override (tick): ask again at once.
        if (error instanceof Error && error.name === 'AbortError') continue;
        this.noteProblem(error);
        if (error instanceof ApplyError) this.reportNow = true;
        pauseMs = error instanceof ApplyError ? REFUSED_RETRY_MS : Math.max(this.consoles.backoffMs, error instanceof ConsoleUnavailable ? 0 : AWAITING_RETRY_MS);
      }
      if (pauseMs > 0) await this.pause(pauseMs);
    }
  }

  /** A pause that stop() ends early. */
  private async pause(ms: number) {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, ms).unref();
    });
    this.wake = null;
  }

  private async tick() {
    // A local override while a long-poll waits: ask for the console's whole state now, not when the wait ends.
    if (this.poll?.conditional && this.host.locallyOverridden) this.poll.abort.abort();
    if (this.reporting) return;
    this.reporting = true;
    try {
      const force = this.reportNow;
      this.reportNow = false;
      await this.reportOnce(force);
    } catch (error) {
      this.noteProblem(error);
    } finally {
      this.reporting = false;
    }
  }

  start() {
    this.running = true;
    void this.pullLoop();
    this.ticker = setInterval(() => void this.tick(), TICK_MS);
    return this;
  }

  stop() {
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    this.poll?.abort.abort();
    this.wake?.();
  }
}
