import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { appendAuditEvent } from '../audit/append';
import { SYSTEM_ACTOR } from '../audit/actor';
import { createUser } from '../auth/users';
import { ROLES } from '../auth/permissions';
import { generateSm2KeyPair } from '../crypto';
import type { Db } from '../db/client';
import { registerSigner } from '../signers/registry';
import { acceptUpload } from '../artifacts/upload';
import type { AuditActor } from '../audit/actor';
import { applyThroughChangeRequest } from '../rollout/approved-change';
import { rolloutSettings } from '../rollout/settings';
import { registerSigningKey } from '../rollout/signing-keys';
import { writeSignedManifest } from '../artifacts/create-manifest';
import { buildExampleModules, exampleModulePath } from './example-modules';
import { mkdirPrivate } from '../secrets-at-rest';

export interface DemoAccount {
  email: string;
  role: string;
  password: string;
}

export const DEMO_SIGNER_NAME = 'Hotplane demo signer';

// First start in demo mode: one account per role, a demo signer whose private key stays on this disk
// (data/demo-keys/), the demo approver's approval key beside it, and ledger 1.0.0 accepted through the real pipeline; ledger 1.1.0 is signed and
// left in data/demo-artifacts/ for the newcomer to upload.
export async function seedDemo(db: Db, dataDir: string, options: { password?: string } = {}) {
  const accounts: DemoAccount[] = [];
  const people: Partial<Record<string, AuditActor>> = {};
  let approverKeyPem = '';
  const keyDir = path.join(dataDir, 'demo-keys');
  mkdirPrivate(keyDir);
  // Two admins, so a role grant that needs a second admin's confirmation can be tried out.
  for (const [role, email] of [...ROLES.map((r) => [r, `${r}@hotplane.local`] as const), ['admin', 'admin2@hotplane.local'] as const]) {
    const name = email.startsWith('admin2') ? 'Demo second admin' : `Demo ${role}`;
    const created = await createUser(db, SYSTEM_ACTOR, { email, name, roles: [role], password: options.password });
    accounts.push({ email, role, password: created.password });
    people[role] = { id: created.user.id, name, roles: [role] };
    if (role === 'approver') {
      // The demo approver's personal key, so a newcomer can sign a change off in the browser at once.
      const approverKeys = generateSm2KeyPair();
      approverKeyPem = approverKeys.privateKeyPem;
      await writeFile(path.join(keyDir, 'approver.key.pem'), approverKeys.privateKeyPem, { mode: 0o600 });
      await registerSigningKey(db, { id: created.user.id, name, roles: [role] }, { label: 'demo approver key', publicKey: approverKeys.publicKeyPem });
    }
  }

  const keys = generateSm2KeyPair();
  await writeFile(path.join(keyDir, 'signer.key.pem'), keys.privateKeyPem, { mode: 0o600 });
  await writeFile(path.join(keyDir, 'signer.pub.pem'), keys.publicKeyPem);
  await writeFile(path.join(keyDir, 'signer.pub.hex'), `${keys.publicKeyHex}\n`);
  const now = new Date();
  await registerSigner(db, SYSTEM_ACTOR, {
    name: DEMO_SIGNER_NAME,
    subjectDn: 'CN=Hotplane Demo Signer,OU=Release Engineering,O=Hotplane Demo Bank,C=CN',
    serial: '01',
    publicKey: keys.publicKeyPem,
    allowedModules: ['*'],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
  });

  const buildDir = await buildExampleModules();
  const artifactDir = path.join(dataDir, 'demo-artifacts');
  await mkdir(artifactDir, { recursive: true });
  const signed: Record<string, string> = {};
  for (const version of ['1.0.0', '1.1.0']) {
    const target = path.join(artifactDir, `ledger-${version}.so`);
    await copyFile(exampleModulePath(buildDir, 'ledger', version), target);
    await writeSignedManifest(target, { module: 'ledger', version, moduleClass: 'business' }, keys.privateKeyPem);
    signed[version] = target;
  }

  const first = signed['1.0.0'];
  const result = await acceptUpload(db, SYSTEM_ACTOR, {
    source: Readable.toWeb(createReadStream(first)) as ReadableStream<Uint8Array>,
    manifestBytes: await readFile(`${first}.manifest.json`),
    signatureBytes: await readFile(`${first}.manifest.sig`),
    fileNames: { so: path.basename(first), manifest: `${path.basename(first)}.manifest.json`, signature: `${path.basename(first)}.manifest.sig` },
  });
  if (result.outcome !== 'accepted') throw new Error(`demo ledger 1.0.0 was not accepted: ${result.message}`);
  // The embedded host serves it from the first start, in its own process cell, so the charts have traffic. It goes
  // live as everything does: the demo operator proposes its first version and the demo approver signs it off.
  await applyThroughChangeRequest(
    db,
    { module: 'ledger', versions: [{ version: '1.0.0', weight: 100, isolation: 'process' }], reason: 'demo: first version of ledger', ticket: 'DEMO-1' },
    { proposer: people.operator!, approver: { actor: people.approver!, privateKeyPem: approverKeyPem }, settings: rolloutSettings() },
  );

  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor: SYSTEM_ACTOR,
      action: 'demo.seeded',
      targetType: 'console',
      targetId: 'demo',
      details: { accounts: accounts.map((a) => a.email), signer: DEMO_SIGNER_NAME, accepted: ['ledger@1.0.0'], serving: ['ledger@1.0.0'] },
    }),
  );
  return { accounts, artifactDir, keyDir };
}
