import type { Db, DbTransaction } from '../db/client';
import { currentGeneration } from './desired-state';

// The desired-state tag as this process last read it, and the long-polls waiting for it to change (fleet-http.ts).
// One watch per database handle, so one per console process: however many hosts wait, the tag is read once per
// nudge and once per SAFETY_NET_MS, never per host. Nudged (1) by every desired-state write in this process
// (replaceDesiredModule) and by revocations, (2) by the cluster bus when another replica wrote
// (nudgeDesiredStateWatch), (3) by its own timer as a safety net for a nudge that never came. With no host
// waiting it reads nothing at all.

/** The safety net: how stale the tag may get when no nudge arrives (a write by a process with no bus). */
const SAFETY_NET_MS = 5_000;
/**
 * A writer nudges from inside its transaction, before its commit is visible to other connections: the tag is read
 * at once and again after each of these delays, so the commit is seen within a few milliseconds of happening.
 */
const NUDGE_REREADS_MS = [0, 20, 100, 500, 2_000];

// The tag names the generation and how many versions are revoked: a revocation changes no generation, but the
// hosts must learn it at once (their local admin may not bring a revoked version back).
export async function desiredStateTag(db: Db | DbTransaction): Promise<string> {
  const [generation, revoked] = await Promise.all([currentGeneration(db), db.moduleVersion.count({ where: { status: { not: 'accepted' } } })]);
  return `"${generation}.${revoked}"`;
}

export type WaitOutcome = 'changed' | 'timeout' | 'aborted';

interface Waiter {
  knownTag: string;
  settle(outcome: WaitOutcome): void;
}

export class DesiredStateWatch {
  private readonly waiters = new Set<Waiter>();
  private safetyNet: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private lastTag: string | null = null;
  /** What the hosts woken by the last change seen are answered with, per key, built once (sharedSinceChange). */
  private readonly sinceChange = new Map<string, Promise<unknown>>();
  /** Tag reads done, for the measurements in docs/fleet.md and the tests. */
  reads = 0;

  constructor(
    private readonly readTag: () => Promise<string>,
    private readonly safetyNetMs = SAFETY_NET_MS,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  /** Resolves when a read finds a tag other than `knownTag`, after `waitMs`, or when `signal` aborts. */
  waitForChange(knownTag: string, waitMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const onAbort = () => waiter.settle('aborted');
      const timer = setTimeout(() => waiter.settle('timeout'), waitMs);
      const waiter: Waiter = {
        knownTag,
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.stopSafetyNet();
          resolve(outcome);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.safetyNet ??= setInterval(() => void this.read(), this.safetyNetMs).unref();
    });
  }

  /**
   * One build shared by every host woken since the last change this watch saw (`key` tells states apart that differ
   * by host, e.g. by zone): a change wakes hundreds of hosts at once, and they must not each read the whole state.
   * A build started after that change can only be as new as it or newer.
   */
  sharedSinceChange<T>(key: string, build: () => Promise<T>): Promise<T> {
    let built = this.sinceChange.get(key) as Promise<T> | undefined;
    if (!built) {
      built = build();
      this.sinceChange.set(key, built);
      built.catch(() => this.sinceChange.delete(key));
    }
    return built;
  }

  /** The desired state may have changed: read the tag (now, and a few times more while a commit lands). */
  nudge(): void {
    if (this.waiters.size === 0) return;
    for (const delay of NUDGE_REREADS_MS) {
      if (delay === 0) void this.read();
      else setTimeout(() => void this.read(), delay).unref();
    }
  }

  // Reads never overlap: a nudge during a read is answered by one more read after it.
  private read(): Promise<void> {
    if (this.waiters.size === 0) return Promise.resolve();
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.readAgain = false;
          this.reads += 1;
          const tag = await this.readTag();
          if (tag !== this.lastTag) this.sinceChange.clear();
          this.lastTag = tag;
          for (const waiter of [...this.waiters]) if (waiter.knownTag !== tag) waiter.settle('changed');
        } while (this.readAgain && this.waiters.size > 0);
      } catch {
        // A failed read (database briefly locked) wakes nobody; the next nudge or the safety net reads again.
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private stopSafetyNet() {
    if (this.safetyNet) clearInterval(this.safetyNet);
    this.safetyNet = null;
  }
}

const watches = new Map<Db, DesiredStateWatch>();

/** This process's watch over `db`'s desired state. */
export function desiredStateWatch(db: Db): DesiredStateWatch {
  let watch = watches.get(db);
  if (!watch) watches.set(db, (watch = new DesiredStateWatch(() => desiredStateTag(db))));
  return watch;
}

/** The desired state may have changed (written here or, via the cluster bus, by another replica). Cheap. */
export function nudgeDesiredStateWatch(): void {
  for (const watch of watches.values()) watch.nudge();
}
