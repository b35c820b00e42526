import type { AuditActor } from '../audit/actor';
import { generateSm2KeyPair, signSm2, type Sm2KeyPair } from '../crypto';
import { setVersions } from '../fleet/set-versions';
import { approveChange } from '../rollout/approvals';
import { approvalMessage } from '../rollout/digest';
import { loadRolloutSettings, type RolloutSettings } from '../rollout/settings';
import { registerSigningKey } from '../rollout/signing-keys';
import { createConsoleFixture, type ConsoleFixture } from './console-fixture';

// A console with the example ledger versions accepted, 1.0.0 serving all traffic, and people to propose and
// approve: an operator and two approvers, each approver with a registered SM2 key.

export interface Person {
  actor: AuditActor;
  keys: Sm2KeyPair;
}

export interface RolloutFixture {
  f: ConsoleFixture;
  settings: RolloutSettings;
  operator: Person;
  approver: Person;
  secondApprover: Person;
  /** Signs the request's digest with the person's key and submits the approval. */
  approve(id: string, digest: string, who?: Person): ReturnType<typeof approveChange>;
  sign(digest: string, who: Person): string;
}

/**
 * Uploaded in this (ascending) order: [version, built file's version, variant]. 2.0.0 is the slow build under a
 * major version, for approval counting only: it never runs (its hp_module_version says 1.2.2).
 */
const LEDGER_VERSIONS: [string, string, string][] = [
  ['1.0.0', '1.0.0', 'standard'],
  ['1.1.0', '1.1.0', 'standard'],
  ['1.2.1', '1.2.1', 'self-test-fail'],
  ['1.2.3', '1.2.3', 'error-prone'],
  ['1.2.4', '1.2.4', 'crash'],
  ['2.0.0', '1.2.2', 'slow'],
];

function person(id: string, roles: string[]): Person {
  return { actor: { id, name: `${id}@test`, roles }, keys: generateSm2KeyPair() };
}

export async function createRolloutFixture(env: Record<string, string> = {}): Promise<RolloutFixture> {
  const f = await createConsoleFixture(env);
  for (const [version, built, variant] of LEDGER_VERSIONS) {
    const paths = await f.signedArtifact({ so: f.modulePath('ledger', built, variant), module: 'ledger', version });
    const result = await f.upload(paths);
    if (result.outcome !== 'accepted') throw new Error(`fixture upload of ledger ${version} was ${result.outcome}: ${result.message}`);
  }
  await setVersions(f.db, f.actor, { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }] });
  const settings = { ...loadRolloutSettings({ ...process.env, ...env }), tickMs: 100, snapshotSeconds: 1, webhookRetryMs: 100 };
  const operator = person('op-1', ['operator']);
  const approver = person('ap-1', ['approver']);
  const secondApprover = person('ap-2', ['approver']);
  // Real accounts: approvals are checked against the approver's account, role and key (four-eyes.ts).
  for (const p of [operator, approver, secondApprover]) {
    await f.db.user.create({ data: { id: p.actor.id, email: p.actor.name, name: p.actor.id, roles: p.actor.roles.join(','), emailVerified: true } });
  }
  for (const p of [approver, secondApprover]) await registerSigningKey(f.db, p.actor, { publicKey: p.keys.publicKeyPem, label: 'test key' });
  const sign = (digest: string, who: Person) => Buffer.from(signSm2(approvalMessage(digest), who.keys.privateKeyPem)).toString('hex');
  return {
    f,
    settings,
    operator,
    approver,
    secondApprover,
    sign,
    approve: (id, digest, who = approver) => approveChange(f.db, who.actor, { id, digest, signature: sign(digest, who) }, { ttlMs: settings.approvalTtlMs }),
  };
}
