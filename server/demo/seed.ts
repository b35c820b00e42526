import { mkdir, readFile, writeFile, copyFile, stat } from 'node:fs/promises';
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
import { buildExampleModules, exampleModuleIndex, exampleModulePath } from './example-modules';
import { mkdirPrivate } from '../secrets-at-rest';
import { config } from '../config';
import type { ModuleClass } from '../artifacts/manifest';

export interface DemoAccount {
  email: string;
  role: string;
  password: string;
}

export const DEMO_SIGNER_NAME = 'Hotplane demo signer';

/** The modules a demo console serves from its first start, each with demo traffic (server/fleet/demo-requests.ts). */
export const DEMO_FLEET = [
  { module: 'ledger', version: '1.0.0', moduleClass: 'business', missing: 'it was not built' },
  { module: 'risk-rules', version: '1.0.0', moduleClass: 'business', missing: 'it was not built' },
  // Built only where Go is installed (CI installs golang-go).
  { module: 'edge-gateway', version: '1.0.0', moduleClass: 'gateway', missing: "'go' is not on PATH, so the Go gateway was not built (install golang-go)" },
] as const;

// First start in demo mode: one account per role, a demo signer whose private key stays on this disk
// (data/demo-keys/), the demo approver's approval key beside it, and the demo fleet (DEMO_FLEET) accepted and
// approved through the real pipeline; ledger 1.1.0 is signed and left in data/demo-artifacts/ for the newcomer to upload.
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
  const built = await exampleModuleIndex();
  const artifactDir = path.join(dataDir, 'demo-artifacts');
  await mkdir(artifactDir, { recursive: true });
  const sign = async (module: string, version: string, moduleClass: ModuleClass) => {
    const target = path.join(artifactDir, `${module}-${version}.so`);
    await copyFile(exampleModulePath(buildDir, module, version), target);
    await writeSignedManifest(target, { module, version, moduleClass }, keys.privateKeyPem);
    return target;
  };
  // ledger 1.1.0 stays on disk, signed, for the newcomer to upload and roll out.
  await sign('ledger', '1.1.0', 'business');

  // Each served module goes live as everything does: accepted through the upload pipeline, proposed by the demo
  // operator, signed off by the demo approver, started and applied; the embedded host then serves it in its own
  // process cell and the demo traffic gives the charts something to show.
  const served: string[] = [];
  const skipped: string[] = [];
  for (const [i, demo] of DEMO_FLEET.entries()) {
    if (!built.some((m) => m.module === demo.module && m.version === demo.version && m.variant === 'standard')) {
      skipped.push(`${demo.module} is left out of the demo fleet: ${demo.missing}`);
      continue;
    }
    const file = await sign(demo.module, demo.version, demo.moduleClass);
    // A console run with a small upload limit (the security proof's) leaves out what it would refuse anyway.
    const size = (await stat(file)).size;
    if (size > config().maxUploadBytes) {
      skipped.push(`${demo.module} is left out of the demo fleet: its ${size} bytes are over HOTPLANE_MAX_UPLOAD_BYTES (${config().maxUploadBytes})`);
      continue;
    }
    const result = await acceptUpload(db, SYSTEM_ACTOR, {
      source: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      manifestBytes: await readFile(`${file}.manifest.json`),
      signatureBytes: await readFile(`${file}.manifest.sig`),
      fileNames: { so: path.basename(file), manifest: `${path.basename(file)}.manifest.json`, signature: `${path.basename(file)}.manifest.sig` },
    });
    if (result.outcome !== 'accepted') throw new Error(`demo ${demo.module} ${demo.version} was not accepted: ${result.message}`);
    await applyThroughChangeRequest(
      db,
      { module: demo.module, versions: [{ version: demo.version, weight: 100, isolation: 'process' }], reason: `demo: first version of ${demo.module}`, ticket: `DEMO-${i + 1}` },
      { proposer: people.operator!, approver: { actor: people.approver!, privateKeyPem: approverKeyPem }, settings: rolloutSettings() },
    );
    served.push(`${demo.module}@${demo.version}`);
  }

  await db.$transaction((tx) =>
    appendAuditEvent(tx, {
      actor: SYSTEM_ACTOR,
      action: 'demo.seeded',
      targetType: 'console',
      targetId: 'demo',
      details: { accounts: accounts.map((a) => a.email), signer: DEMO_SIGNER_NAME, accepted: served, serving: served, skipped },
    }),
  );
  return { accounts, artifactDir, keyDir, served, skipped };
}
