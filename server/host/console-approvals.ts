import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DesiredState, DesiredVersion } from '../protocol';
import { mkdirPrivate } from '../secrets-at-rest';

// Which module versions the console has ever sent this host, minus the ones it has since revoked: the only versions
// the host's local admin may load through POST /v1/desired-state. Without it, whoever holds the host admin token
// could run any bytes the cache holds, or any signed-but-never-approved version, bypassing four-eyes.

interface ApprovalsFile {
  /** `module sm3 sha256(config)` of every version a console desired state named: hp_init's config is approved too. */
  approved: string[];
  /** SM3 of every version the console says is revoked. */
  revoked: string[];
}

const keyOf = (module: string, version: DesiredVersion) => `${module} ${version.sm3} ${createHash('sha256').update(version.config ?? '').digest('hex')}`;

export class ConsoleApprovals {
  private approved = new Set<string>();
  private revoked = new Set<string>();

  constructor(private readonly file: string) {}

  async load(): Promise<this> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text) {
      const saved = JSON.parse(text) as ApprovalsFile;
      this.approved = new Set(saved.approved);
      this.revoked = new Set(saved.revoked);
    }
    return this;
  }

  /** Takes in a desired state that came from the console. */
  async record(state: DesiredState): Promise<void> {
    const before = this.approved.size + this.revoked.size;
    const revoked = new Set(state.revoked ?? []);
    const sameRevoked = revoked.size === this.revoked.size && [...revoked].every((sm3) => this.revoked.has(sm3));
    for (const m of state.modules) for (const v of m.versions) this.approved.add(keyOf(m.module, v));
    this.revoked = revoked;
    if (sameRevoked && this.approved.size + this.revoked.size === before) return;
    mkdirPrivate(path.dirname(this.file));
    const temp = `${this.file}.tmp`;
    const saved: ApprovalsFile = { approved: [...this.approved].sort(), revoked: [...this.revoked].sort() };
    await writeFile(temp, JSON.stringify(saved), { mode: 0o600 });
    await rename(temp, this.file);
  }

  /** Why a locally posted state may not be applied, or null when every version in it is one the console approved. */
  refusal(state: DesiredState): string | null {
    for (const m of state.modules) {
      for (const v of m.versions) {
        if (this.revoked.has(v.sm3)) return `${m.module} ${v.version} (SM3 ${v.sm3}) was revoked by the console: a local override cannot load it`;
        if (!this.approved.has(keyOf(m.module, v))) {
          return `${m.module} ${v.version} (SM3 ${v.sm3}) with this config was never in a desired state from the console: only versions (and hp_init configs) the console approved for this host can be loaded locally`;
        }
      }
    }
    return null;
  }
}
