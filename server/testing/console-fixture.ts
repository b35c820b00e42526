import { mkdtempSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import type { AuditActor } from '../audit/actor';
import { generateSm2KeyPair, signSm2, type Sm2KeyPair } from '../crypto';
import { createDb, prepareDatabase, type Db } from '../db/client';
import { testDatabaseUrl, testsOnPostgres } from './test-database';
import { createManifest } from '../artifacts/create-manifest';
import { inspectElf } from '../artifacts/elf';
import type { ModuleClass } from '../artifacts/manifest';
import { acceptUpload } from '../artifacts/upload';
import { registerSigner } from '../signers/registry';
import { createAuditCheckpointer } from '../audit/checkpoints';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules';

// A real console state for integration tests: its own data folder and database (test-database.ts), the example modules
// built by gcc, and a registered SM2 signer. Must be created before anything calls config().
export interface ConsoleFixture {
  dataDir: string;
  databaseUrl: string;
  db: Db;
  actor: AuditActor;
  signerKeys: Sm2KeyPair;
  modulesDir: string;
  work: string;
  storeFiles(): string[];
  modulePath(module: string, version: string, variant?: string): string;
  signedArtifact(options: ArtifactOptions): Promise<ArtifactPaths>;
  upload(paths: ArtifactPaths, names?: Partial<{ so: string; manifest: string; signature: string }>): ReturnType<typeof acceptUpload>;
}

export interface ArtifactOptions {
  so: string;
  module: string;
  version: string;
  moduleClass?: ModuleClass;
  key?: string;
  editManifest?: (manifest: Record<string, unknown>) => void;
  manifestText?: string;
}

export interface ArtifactPaths {
  so: string;
  manifest: string;
  signature: string;
}

export async function createConsoleFixture(env: Record<string, string> = {}): Promise<ConsoleFixture> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-test-'));
  // Separation-of-duties settings are off unless a test turns them on, so each test fails for what it tests.
  const databaseUrl = testDatabaseUrl(path.join(dataDir, 'hotplane.db'));
  // On PostgreSQL the database is not in the data folder: config() and child processes find it through DATABASE_URL.
  const database = testsOnPostgres() ? { DATABASE_URL: databaseUrl } : {};
  Object.assign(process.env, { HOTPLANE_DATA_DIR: dataDir, HOTPLANE_DEMO: '0', HOTPLANE_MIN_APPROVER_ROLE_AGE_MS: '0', HOTPLANE_ROLE_GRANT_CONFIRMATION: '0', ...database, ...env });
  await prepareDatabase(databaseUrl);
  const db = createDb(databaseUrl);
  const actor: AuditActor = { id: 'test-operator', name: 'operator@test', roles: ['operator'] };
  const signerKeys = generateSm2KeyPair();
  await registerSigner(db, { id: 'test-admin', name: 'admin@test', roles: ['admin'] }, {
    name: 'Release signer',
    subjectDn: 'CN=Release,O=Test Bank,C=CN',
    serial: '1001',
    publicKey: signerKeys.publicKeyPem,
    allowedModules: ['ledger', 'risk-*', 'edge-*'],
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
  });
  // As at console start-up: the checkpoints file exists and covers what is there so far.
  await createAuditCheckpointer().checkpointNow(db);
  const modulesDir = await buildExampleModules();
  const work = path.join(dataDir, 'work');
  await mkdir(work, { recursive: true });
  let counter = 0;

  const fixture: ConsoleFixture = {
    dataDir,
    databaseUrl,
    db,
    actor,
    signerKeys,
    modulesDir,
    work,
    storeFiles: () => {
      try {
        return readdirSync(path.join(dataDir, 'artifacts')).sort();
      } catch {
        return [];
      }
    },
    modulePath: (module, version, variant) => exampleModulePath(modulesDir, module, version, variant),
    async signedArtifact(options) {
      const dir = path.join(work, `a${++counter}`);
      await mkdir(dir);
      const so = path.join(dir, path.basename(options.so));
      await copyFile(options.so, so);
      let text =
        options.manifestText ??
        (await createManifest(so, {
          module: options.module,
          version: options.version,
          moduleClass: options.moduleClass ?? 'business',
          // Bad-ELF fixtures still need a manifest that is right about everything else.
          arch: (await inspectElf(so).then(() => undefined, () => 'x86_64' as const)),
        }));
      if (options.editManifest) {
        const json = JSON.parse(text) as Record<string, unknown>;
        options.editManifest(json);
        text = `${JSON.stringify(json, null, 2)}\n`;
      }
      const manifest = `${so}.manifest.json`;
      const signature = `${so}.manifest.sig`;
      await writeFile(manifest, text);
      await writeFile(signature, signSm2(await readFile(manifest), options.key ?? signerKeys.privateKeyPem));
      return { so, manifest, signature };
    },
    async upload(paths, names = {}) {
      return acceptUpload(db, actor, {
        source: Readable.toWeb(createReadStream(paths.so)) as ReadableStream<Uint8Array>,
        manifestBytes: await readFile(paths.manifest),
        signatureBytes: await readFile(paths.signature),
        fileNames: {
          so: names.so ?? path.basename(paths.so),
          manifest: names.manifest ?? path.basename(paths.manifest),
          signature: names.signature ?? path.basename(paths.signature),
        },
      });
    },
  };
  return fixture;
}
