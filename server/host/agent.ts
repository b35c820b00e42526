import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactFetcher } from './artifact-cache';
import type { ConsoleApprovals } from './console-approvals';
import type { FleetFetch } from './fleet-transport';
import type { Host } from './host';
import type { DesiredState, HostReport } from './types';

// The desired state is pulled 4 times a second (an unchanged one is a 304 after one row read) so a rollback reaches
// the host within a quarter second; reports go once a second, and at once after an apply or a crash, so the
// console confirms a step or rolls a crashed canary back without waiting for the next second.
const PULL_MS = 250;
const REPORT_MS = 1_000;
const MAX_UNSENT_SAMPLES = 20_000;
const MAX_UNSENT_EVENTS = 500;

export interface AgentOptions {
  controlPlane: string;
  /** How requests reach the console: fleet-transport.ts's fetch over mutual TLS, which names the host. */
  fetch: FleetFetch;
  dataDir: string;
  /** Told every desired state the console sends, so the local admin can only use versions the console approved. */
  approvals?: ConsoleApprovals;
  log?: (line: string) => void;
}

/** What a refusal from the console says (its JSON `message`), for the log: ", the database is locked…". */
async function saying(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { message?: unknown } | null;
  return typeof body?.message === 'string' ? `, ${body.message}` : '';
}

/** The console answered, but its desired state could not be applied; the report still went out. */
class ApplyError extends Error {}

// The host's link to the console: pull desired state, push reports. The last desired state is kept on the
// host's disk, so a restarted host serves it even while the console is down, and reconciles when it returns.
export class ControlPlaneAgent {
  private etag: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastReportAt = 0;
  private connected: boolean | null = null;
  /** The last apply failure logged, so a failure repeated every poll is logged once. */
  private applyProblem: string | null = null;
  private readonly stateFile: string;
  private unsent: { metrics: HostReport['metrics']; events: HostReport['events'] } = { metrics: [], events: [] };

  constructor(
    private readonly host: Host,
    private readonly options: AgentOptions,
  ) {
    this.stateFile = path.join(options.dataDir, 'desired-state.json');
  }

  readonly fetchArtifact: ArtifactFetcher = async (sm3) => {
    const response = await this.options.fetch(new URL(`/api/fleet/artifacts/${sm3}`, this.options.controlPlane));
    if (!response.ok || !response.body) throw new Error(`console answered ${response.status}${await saying(response)}`);
    return response.body;
  };

  async restorePersistedState(): Promise<DesiredState | null> {
    const text = await readFile(this.stateFile, 'utf8').catch(() => null);
    if (!text) return null;
    const state = JSON.parse(text) as DesiredState;
    await this.host.applyDesiredState(state);
    this.options.log?.(`serving persisted desired state generation ${state.generation}`);
    return state;
  }

  private async persist(state: DesiredState) {
    await mkdir(this.options.dataDir, { recursive: true });
    const temp = `${this.stateFile}.tmp`;
    await writeFile(temp, JSON.stringify(state));
    await rename(temp, this.stateFile);
  }

  private setConnected(connected: boolean, detail: string) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.options.log?.(connected ? 'connected to the console' : `console unreachable (${detail}); serving the last desired state`);
  }

  async syncOnce(): Promise<void> {
    // After a local override the host no longer runs what the ETag stands for: ask for the whole state again.
    const overridden = this.host.locallyOverridden;
    const response = await this.options.fetch(new URL('/api/fleet/desired-state', this.options.controlPlane), {
      headers: this.etag && !overridden ? { 'if-none-match': this.etag } : {},
    });
    let notApplied: ApplyError | null = null;
    let applied = false;
    if (response.status === 200) {
      const state = (await response.json()) as DesiredState;
      await this.options.approvals?.record(state);
      if (state.generation !== this.host.generation || overridden) {
        applied = true;
        if (overridden) this.options.log?.(`a local override was in place; re-applying the console's desired state generation ${state.generation}`);
        await this.persist(state);
        await this.host.applyDesiredState(state).catch((error: unknown) => {
          notApplied = new ApplyError(`generation ${state.generation} not applied (${error instanceof Error ? error.message : String(error)}); serving generation ${this.host.generation}, retrying`);
        });
      } else if (this.host.awaitingArtifacts()) {
        await this.host.applyDesiredState(state);
      }
      // Only an applied state is remembered: a 304 must never stand for a state the host does not run, nor for one
      // whose missing artifacts the host still has to fetch.
      if (!notApplied && !this.host.awaitingArtifacts()) this.etag = response.headers.get('etag');
    } else if (response.status !== 304) {
      throw new Error(`desired state: HTTP ${response.status}${await saying(response)}`);
    }
    // A report the console refused is resent at the next pull rather than a second later.
    const unsent = this.unsent.events.length > 0 || this.unsent.metrics.length > 0;
    const due = applied || unsent || this.host.reportDue(this.lastReportAt, REPORT_MS);
    if (!due) {
      if (notApplied) throw notApplied;
      return;
    }
    const report = this.host.report();
    // Samples and events of a push that failed go out with the next one (bounded: the last 10 minutes' worth).
    report.metrics = [...this.unsent.metrics, ...report.metrics].slice(-MAX_UNSENT_SAMPLES);
    report.events = [...this.unsent.events, ...report.events].slice(-MAX_UNSENT_EVENTS);
    this.unsent = { metrics: report.metrics, events: report.events };
    const pushed = await this.options.fetch(new URL('/api/fleet/report', this.options.controlPlane), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(report),
    });
    if (!pushed.ok) {
      // A report the console refuses for what it says (a cap broken) is refused again if resent: it is dropped.
      if (pushed.status === 413 || pushed.status === 422) this.unsent = { metrics: [], events: [] };
      throw new Error(`report: HTTP ${pushed.status}${await saying(pushed)}`);
    }
    this.unsent = { metrics: [], events: [] };
    this.lastReportAt = Date.now();
    if (notApplied) throw notApplied;
  }

  start() {
    const tick = async () => {
      if (this.busy) return;
      this.busy = true;
      try {
        await this.syncOnce();
        this.setConnected(true, '');
        this.applyProblem = null;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!(error instanceof ApplyError)) this.setConnected(false, message);
        else if (message !== this.applyProblem) this.options.log?.((this.applyProblem = message));
      } finally {
        this.busy = false;
      }
    };
    void tick();
    this.timer = setInterval(tick, PULL_MS);
    return this;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }
}
