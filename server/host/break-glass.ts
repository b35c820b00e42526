import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MAX_BREAK_GLASS_REASON, type DesiredState, type DesiredVersion, type HostBreakGlass } from '../protocol';
import { mkdirPrivate } from '../secrets-at-rest';
import type { ConsoleApprovals } from './console-approvals';
import type { Host } from './host';

// Break-glass on one host while no console answers (`hotplane host rollback`, POST /v1/break-glass): the host's
// admin moves a module back to the last stable the console had this host run — the only target, so the host token
// cannot pick a version. The host remembers each module's stables in the order the console sent them (a version
// alone at 100 %), and every break-glass it made until a console has been told (agent.ts sends them before it takes
// the console's state again, so the console adopts the rollback instead of reverting it). Kept on disk: a restart
// neither forgets the stables nor a break-glass still to report.

const STABLES_KEPT = 10;

export class BreakGlassRefused extends Error {}

interface BreakGlassFile {
  stables: Record<string, DesiredVersion[]>;
  /** What the host runs: the console's last state, or that with the break-glasses made since. */
  lastState: DesiredState | null;
  pending: HostBreakGlass[];
}

export class LocalBreakGlass {
  private saved: BreakGlassFile = { stables: {}, lastState: null, pending: [] };
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly host: Pick<Host, 'generation' | 'applyDesiredState'>,
    private readonly approvals?: Pick<ConsoleApprovals, 'refusal'>,
  ) {
    this.file = path.join(dataDir, 'break-glass.json');
  }

  async load(): Promise<this> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text) this.saved = JSON.parse(text) as BreakGlassFile;
    return this;
  }

  private async persist() {
    mkdirPrivate(path.dirname(this.file));
    const temp = `${this.file}.tmp`;
    await writeFile(temp, JSON.stringify(this.saved), { mode: 0o600 });
    await rename(temp, this.file);
  }

  /** Takes in a desired state from the console: its stables are the only break-glass targets. */
  async observe(state: DesiredState): Promise<void> {
    let changed = this.saved.lastState?.generation !== state.generation;
    this.saved.lastState = state;
    for (const m of state.modules) {
      const alone = m.versions.find((v) => v.weight === 100);
      if (!alone) continue;
      const stables = (this.saved.stables[m.module] ??= []);
      const earlier = stables.findIndex((v) => v.sm3 === alone.sm3 && v.config === alone.config);
      if (earlier >= 0 && earlier === stables.length - 1) continue;
      // Back on an earlier stable (a rollback): what came after it is no stable to return to.
      if (earlier >= 0) stables.length = earlier + 1;
      else stables.push({ ...alone, weight: 100 });
      if (stables.length > STABLES_KEPT) stables.shift();
      changed = true;
    }
    if (changed) await this.persist();
  }

  /**
   * After a restart with no console answering: the agent restored the console's last state from disk; a break-glass
   * made since and not yet told is applied again over it, so a restart does not undo it.
   */
  async restore(): Promise<boolean> {
    if (this.saved.pending.length === 0 || !this.saved.lastState) return false;
    await this.host.applyDesiredState(this.saved.lastState, { local: true });
    return true;
  }

  /** Break-glasses not yet told to a console, oldest first. */
  pending(): readonly HostBreakGlass[] {
    return this.saved.pending;
  }

  /** A console answered about this break-glass (adopted or refused): it is not sent again. */
  async settle(id: string): Promise<void> {
    this.saved.pending = this.saved.pending.filter((p) => p.id !== id);
    await this.persist();
  }

  async rollback(module: string, reason: string, now = new Date()): Promise<HostBreakGlass> {
    if (reason.trim().length < 3) throw new BreakGlassRefused('say why you roll back (--reason)');
    // A reason the console would refuse as input would get the rollback undone when the console answers again.
    if (reason.trim().length > MAX_BREAK_GLASS_REASON) throw new BreakGlassRefused(`the reason is ${reason.trim().length} characters; the console takes at most ${MAX_BREAK_GLASS_REASON}`);
    const base = this.saved.lastState;
    const current = base?.modules.find((m) => m.module === module);
    if (!base || !current) throw new BreakGlassRefused(`${module} is not in the desired state this host last had from the console`);
    if (this.saved.pending.some((p) => p.module === module)) {
      throw new BreakGlassRefused(`${module} was rolled back here already and the console has not been told yet; it is told when it answers again`);
    }
    const alone = current.versions.find((v) => v.weight === 100);
    // During a canary the stable itself is the target (all traffic back to it); after a promotion, the one before.
    const target = [...(this.saved.stables[module] ?? [])].reverse().find((v) => v.sm3 !== alone?.sm3);
    if (!target) {
      throw new BreakGlassRefused(`the console never had this host run an earlier stable of ${module} than ${alone?.version ?? 'what runs'}: there is nothing approved to go back to`);
    }
    const from = alone ?? [...current.versions].filter((v) => v.sm3 !== target.sm3).sort((a, b) => b.weight - a.weight)[0] ?? null;
    const versions = [{ ...target, weight: 100 }, ...current.versions.filter((v) => v.sm3 !== target.sm3).map((v) => ({ ...v, weight: 0 }))];
    const state: DesiredState = { ...base, generation: this.host.generation, modules: base.modules.map((m) => (m.module === module ? { module, versions } : m)) };
    const refusal = this.approvals?.refusal(state);
    if (refusal) throw new BreakGlassRefused(refusal);
    await this.host.applyDesiredState(state, { local: true });
    const made: HostBreakGlass = {
      id: randomUUID(),
      module,
      from: from ? { version: from.version, sm3: from.sm3 } : null,
      to: { version: target.version, sm3: target.sm3 },
      reason: reason.trim(),
      at: now.toISOString(),
      generation: base.generation,
    };
    this.saved.pending.push(made);
    this.saved.lastState = state;
    await this.persist();
    return made;
  }
}
