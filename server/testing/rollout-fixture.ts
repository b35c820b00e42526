import type { AuditActor } from '../audit/actor';
import { generateSm2KeyPair, signSm2, type Sm2KeyPair } from '../crypto';
import { approveChange } from '../rollout/approvals';
import { applyThroughChangeRequest } from '../rollout/approved-change';
import { approvalMessage } from '../rollout/digest';
import { loadRolloutSettings, type RolloutSettings } from '../rollout/settings';
import { registerSigningKey } from '../rollout/signing-keys';
import { compileLedger } from './compile-ledger';
import { createConsoleFixture, type ConsoleFixture } from './console-fixture';

// A console with the example ledger versions accepted, 1.0.0 serving all traffic (put live by an approved
// change request, which is cr-1), and people to propose and
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
 * Uploaded in this (ascending) order: [version, variant], then a 2.0.0 built for the fixture (the ledger code reporting
 * 2.0.0, as the upload's identity probe requires), a major version for approval counting.
 */
const LEDGER_VERSIONS: [string, string][] = [
  ['1.0.0', 'standard'],
  ['1.1.0', 'standard'],
  ['1.2.1', 'self-test-fail'],
  ['1.2.3', 'error-prone'],
  ['1.2.4', 'crash'],
];

function person(id: string, roles: string[]): Person {
  return { actor: { id, name: `${id}@test`, roles }, keys: generateSm2KeyPair() };
}

export async function createRolloutFixture(env: Record<string, string> = {}): Promise<RolloutFixture> {
  const f = await createConsoleFixture(env);
  const major = await compileLedger(f.work, { file: 'ledger-2.0.0.so', version: '2.0.0' });
  for (const [version, so] of [...LEDGER_VERSIONS.map(([v, variant]) => [v, f.modulePath('ledger', v, variant)]), ['2.0.0', major]]) {
    const paths = await f.signedArtifact({ so, module: 'ledger', version });
    const result = await f.upload(paths);
    if (result.outcome !== 'accepted') throw new Error(`fixture upload of ledger ${version} was ${result.outcome}: ${result.message}`);
  }
  const settings = { ...loadRolloutSettings({ ...process.env, ...env }), tickMs: 100, snapshotSeconds: 1, webhookRetryMs: 100 };
  const operator = person('op-1', ['operator']);
  const approver = person('ap-1', ['approver']);
  const secondApprover = person('ap-2', ['approver']);
  // Real accounts: approvals are checked against the approver's account, role and key (four-eyes.ts).
  for (const p of [operator, approver, secondApprover]) {
    await f.db.user.create({ data: { id: p.actor.id, email: p.actor.name, name: p.actor.id, roles: p.actor.roles.join(','), emailVerified: true } });
  }
  for (const p of [approver, secondApprover]) await registerSigningKey(f.db, p.actor, { publicKey: p.keys.publicKeyPem, label: 'test key' });
  // ledger 1.0.0 goes live the one way anything does: an approved change request (its first version).
  await applyThroughChangeRequest(
    f.db,
    { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }], reason: 'fixture: first version of ledger' },
    { proposer: f.actor, approver: { actor: approver.actor, privateKeyPem: approver.keys.privateKeyPem }, settings },
  );
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
