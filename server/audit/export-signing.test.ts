// Exports are signed: a manifest listing each file's SHA-256 and SM3, signed through the console's signer,
// verified against a key or fingerprint the auditor holds. The CLI runs as a real process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSm2KeyPair } from '../crypto/sm2';
import { AUDIT_EXPORT_FILES, exportAuditTrail, verifyExportedTrail } from './export';
import { sm2Signer } from './signing/file-signer';
import { buildCheckpointedTrail, createTestTrail, type TestTrail } from './test-support';

const BIN = fileURLToPath(new URL('../../bin/hotplane.js', import.meta.url));

function verifyExportCli(dir: string, args: string[]) {
  const result = spawnSync(process.execPath, [BIN, 'audit', 'verify-export', dir, ...args], { encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('signed audit exports', () => {
  let trail: TestTrail;
  let realKeyFile: string;
  let fresh: (name: string) => Promise<string>;

  before(async () => {
    trail = createTestTrail();
    await buildCheckpointedTrail(trail, 100, 50);
    realKeyFile = path.join(trail.dir, 'auditor-copy-of-console-key.pem');
    writeFileSync(realKeyFile, trail.signer().publicKey.pem);
    fresh = async (name) => {
      const dir = path.join(trail.dir, name);
      await exportAuditTrail(trail.db, dir, { checkpointFile: trail.checkpointFile, signer: trail.signer() });
      return dir;
    };
  });
  after(() => trail.close());

  test('an untouched export verifies against the pinned fingerprint and lists every file with its digests', async () => {
    const dir = await fresh('untouched');
    const manifest = JSON.parse(readFileSync(path.join(dir, AUDIT_EXPORT_FILES.manifest), 'utf8'));
    assert.deepEqual(Object.keys(manifest.digests).sort(), [AUDIT_EXPORT_FILES.events, AUDIT_EXPORT_FILES.checkpoints, AUDIT_EXPORT_FILES.publicKey, AUDIT_EXPORT_FILES.readme].sort());
    assert.deepEqual(manifest.checkpointRecord, { count: 2, throughSeq: 100, lastTime: manifest.checkpointRecord.lastTime });
    const { status, out } = verifyExportCli(dir, ['--fingerprint', trail.signer().fingerprint]);
    assert.equal(status, 0, out);
    assert.match(out, /anchored by the pinned --fingerprint/);
  });

  test('attack: an export whose events were edited after it was written fails verify-export', async () => {
    const dir = await fresh('edited-events');
    const file = path.join(dir, AUDIT_EXPORT_FILES.events);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[41] = lines[41].replace('"ledger@1.', '"ledger@9.');
    writeFileSync(file, lines.join('\n'));
    const { status, out } = verifyExportCli(dir, ['--public-key', realKeyFile]);
    assert.equal(status, 1, out);
    assert.match(out, /PROBLEM export-digest: audit-events\.jsonl does not match the SHA-256\/SM3 the signed manifest lists for it/);
    assert.match(out, /PROBLEM hash-mismatch seq 42/);
  });

  test('attack: an export whose manifest was edited (to hide the checkpoint record) fails its signature', async () => {
    const dir = await fresh('edited-manifest');
    const file = path.join(dir, AUDIT_EXPORT_FILES.manifest);
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, `${JSON.stringify({ ...manifest, checkpointRecord: { count: 0, throughSeq: 0, lastTime: null } }, null, 2)}\n`);
    const result = await verifyExportedTrail(dir, { publicKey: trail.signer().publicKey.pem });
    assert.equal(result.ok, false);
    assert.equal(result.problems[0].kind, 'export-signature');
    assert.match(result.problems[0].message, /manifest\.sig is not a valid signature of manifest\.json by the trusted key/);
  });

  test('attack: an export re-signed with another key fails against the pinned fingerprint', async () => {
    const dir = path.join(trail.dir, 're-signed');
    const impostor = sm2Signer(generateSm2KeyPair().privateKeyPem, 'impostor');
    await exportAuditTrail(trail.db, dir, { checkpointFile: trail.checkpointFile, signer: impostor });
    // The forger's export is self-consistent: its own key verifies its own manifest.
    assert.equal((await verifyExportedTrail(dir)).problems.some((problem) => problem.kind === 'export-signature'), false);
    const pinned = verifyExportCli(dir, ['--fingerprint', trail.signer().fingerprint]);
    assert.equal(pinned.status, 1, pinned.out);
    assert.match(pinned.out, new RegExp(`the export's key has fingerprint ${impostor.fingerprint}, not the pinned ${trail.signer().fingerprint}: it was signed by another key`));
    const keyed = await verifyExportedTrail(dir, { publicKey: readFileSync(realKeyFile, 'utf8') });
    assert.equal(keyed.ok, false);
    assert.equal(keyed.problems[0].kind, 'export-signature');
  });

  test('a line appended to the exported checkpoints file is reported', async () => {
    const dir = await fresh('extra-checkpoints');
    appendFileSync(path.join(dir, AUDIT_EXPORT_FILES.checkpoints), '{"forged":true}\n');
    const result = await verifyExportedTrail(dir, { publicKey: trail.signer().publicKey.pem });
    assert.ok(result.problems.some((problem) => problem.kind === 'export-digest' && /audit-checkpoints\.jsonl does not match/.test(problem.message)));
  });
});
