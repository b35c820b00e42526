import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

// Watches one version's process cell for a call that has run far past the version's normal latency, long before
// the request timeout kills the cell. A process cell runs one call at a time, in order: the calls this watchdog
// is told about form the same queue, so the oldest one is the one the module is running, and it has run since it
// was sent or since the call before it answered, whichever came later.
//
// Normal latency is the p99.9 of how long the module ran each call (not how long the call queued), over the last
// one to two windows. It is kept here rather than read from the metrics: their histogram restarts every second,
// which is too thin for a p99.9, and it counts queueing, which a busy cell has and a stuck one does not.

export interface HangWatchdogSettings {
  /** No call is judged stuck before it has run this long, however fast the version usually is. */
  floorMs: number;
  /** A call is stuck when it has run this many times the version's p99.9 (and at least floorMs). */
  multiple: number;
  /** Calls a window needs before its p99.9 counts as the version's own. */
  minHistory: number;
  /** How often the oldest call's age is looked at while calls are in flight. */
  checkEveryMs: number;
  /** Length of a latency window; the p99.9 covers the last full one and the current one. */
  windowMs: number;
}

export const DEFAULT_HANG_SETTINGS: HangWatchdogSettings = {
  floorMs: 200,
  multiple: 5,
  minHistory: 20,
  checkEveryMs: 25,
  windowMs: 10_000,
};

export interface HangJudgement {
  /** How long the stuck call has run, ms. */
  ranMs: number;
  thresholdMs: number;
  /** Where the threshold came from, in words. */
  basis: string;
}

export interface HangWatchdogHooks {
  /** The p99.9 (ms) of the module's other versions with history, for a version without its own yet; null if none. */
  priorP999Ms(): number | null;
  /** The request timeout (ms): with no history anywhere, half of it is the threshold. */
  requestTimeoutMs(): number;
  hung(judgement: HangJudgement): void;
  /** The stuck call ended (answered, failed or killed) after `ranMs`. */
  released(ranMs: number): void;
}

const US_PER_MS = 1_000;
const HIGHEST_US = 3_600_000_000;

export class HangWatchdog {
  // Start times (performance.now()) of the calls in the cell's queue, oldest first; a probe's is negated: probes
  // have their own timeouts and are neither judged nor learned from, but they do occupy the module.
  private readonly queue: number[] = [];
  private lastEndedAt = 0;
  private current: RecordableHistogram = newHistogram();
  private previous: RecordableHistogram = newHistogram();
  private windowStartedAt = performance.now();
  private timer: NodeJS.Timeout | null = null;
  /** The queue entry declared stuck, while it is. */
  private stuck: number | null = null;
  private stuckRunningSince = 0;

  constructor(
    private readonly hooks: HangWatchdogHooks,
    private readonly settings: HangWatchdogSettings = DEFAULT_HANG_SETTINGS,
  ) {}

  get isHung(): boolean {
    return this.stuck !== null;
  }

  /** A call was sent to the cell at `at` (performance.now()); returns the token to pass to ended(). */
  started(probe = false, at = performance.now()): number {
    // Tokens are the start times: two equal ones are interchangeable.
    this.queue.push(probe ? -at : at);
    if (this.timer === null) {
      this.timer = setInterval(() => this.check(), this.settings.checkEveryMs);
      this.timer.unref();
    }
    return probe ? -at : at;
  }

  /** `answered`: the module answered it (any code); only answered calls teach the watchdog what is normal. */
  ended(token: number, answered: boolean): void {
    const now = performance.now();
    const index = this.queue[0] === token ? 0 : this.queue.indexOf(token);
    if (index < 0) return;
    if (index === 0) this.queue.shift();
    else this.queue.splice(index, 1);
    const ran = now - Math.max(Math.abs(token), this.lastEndedAt);
    // Only the call the module was running ends first; any other ends because the cell died, and ran nothing.
    if (index === 0) this.lastEndedAt = now;
    if (token === this.stuck) {
      this.stuck = null;
      this.hooks.released(now - this.stuckRunningSince);
    } else if (answered && index === 0 && token > 0) {
      this.learn(ran, now);
    }
  }

  /** The p99.9 of the module's run time over the last window or two, ms; null with too little history. */
  p999Ms(): number | null {
    const { previous, current } = this;
    if (previous.count + current.count < this.settings.minHistory) return null;
    const p = Math.max(previous.count > 0 ? previous.percentile(99.9) : 0, current.count > 0 ? current.percentile(99.9) : 0);
    return p / US_PER_MS;
  }

  /** How long the oldest call may run before it is judged stuck, and why. */
  threshold(): { thresholdMs: number; basis: string } {
    const { floorMs, multiple } = this.settings;
    const own = this.p999Ms();
    if (own !== null) return { thresholdMs: Math.max(floorMs, multiple * own), basis: `${multiple} × p99.9 ${own.toFixed(2)} ms` };
    const prior = this.hooks.priorP999Ms();
    if (prior !== null) return { thresholdMs: Math.max(floorMs, multiple * prior), basis: `no history yet: ${multiple} × the other versions' p99.9 ${prior.toFixed(2)} ms` };
    const half = this.hooks.requestTimeoutMs() / 2;
    return { thresholdMs: Math.max(floorMs, half), basis: 'no history on this module yet: half the request timeout' };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private learn(ranMs: number, now: number) {
    if (now - this.windowStartedAt >= this.settings.windowMs) {
      const emptied = this.previous;
      emptied.reset();
      this.previous = this.current;
      this.current = emptied;
      this.windowStartedAt = now;
    }
    const us = Math.round(ranMs * US_PER_MS);
    this.current.record(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
  }

  private check() {
    const head = this.queue[0];
    if (head === undefined) {
      this.stop();
      return;
    }
    if (head < 0 || this.stuck !== null) return;
    const runningSince = Math.max(head, this.lastEndedAt);
    const ranMs = performance.now() - runningSince;
    if (ranMs < this.settings.floorMs) return;
    const { thresholdMs, basis } = this.threshold();
    if (ranMs < thresholdMs) return;
    // Timers run before the poll phase: after the event loop was held up, the answer may be waiting unread. An
    // immediate runs after the poll phase, so it sees the call still in front only if it really has not answered.
    setImmediate(() => {
      if (this.queue[0] !== head || this.stuck !== null) return;
      this.stuck = head;
      this.stuckRunningSince = runningSince;
      this.hooks.hung({ ranMs: performance.now() - runningSince, thresholdMs, basis });
    });
  }
}

function newHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: HIGHEST_US, figures: 3 });
}
