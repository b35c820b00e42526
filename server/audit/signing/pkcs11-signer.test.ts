// The console's signing key on a real SoftHSM2 token (its own token directory, outside the data folder).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { generateKeyPairSync, sign } from 'node:crypto';
import { parsePublicKey } from '../../crypto/keys';
import { verifySignature } from '../../crypto/signatures';
import { checkpointSigningBytes, parseCheckpointLine } from '../checkpoint-format';
import { AuditCheckpointer } from '../checkpoints';
import { appendTestEvents, buildCheckpointedTrail, createTestTrail } from '../test-support';
import { verifyAuditTrail } from '../verify';
import { fileSigner } from './file-signer';
import { closePkcs11Libraries, pkcs11Signer } from './pkcs11-signer';
import { softHsmInstalled, useTestSoftHsm } from './softhsm-test-support';

const skip = !softHsmInstalled && 'softhsm2 is not installed (apt-get install -y softhsm2; .ci/run installs it)';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

describe('PKCS#11 audit signer (SoftHSM2)', { skip }, () => {
  const hsm = skip ? undefined : useTestSoftHsm();
  after(() => closePkcs11Libraries());

  test('generates its P-256 key on the token once and signs what verifySignature accepts', () => {
    const signer = pkcs11Signer(hsm!.settings);
    assert.equal(signer.algorithm, 'ecdsa-p256');
    assert.equal(signer.custody, 'pkcs11');
    assert.equal(pkcs11Signer(hsm!.settings).fingerprint, signer.fingerprint);
    const message = Buffer.from('checkpoint bytes');
    assert.equal(verifySignature({ message, signature: signer.sign(message), key: signer.publicKey }).ok, true);
  });

  test('a wrong PIN is refused with what to check', () => {
    // A PKCS#11 login holds for the whole process: start from a library nobody has logged in to.
    closePkcs11Libraries();
    assert.throws(() => pkcs11Signer({ ...hsm!.settings, pin: 'wrong-pin' }), /logging in to the PKCS#11 token hotplane-test failed \(.*PIN_INCORRECT.*\): check the PIN file/);
  });

  test('attack: a process that reads the whole data folder finds no key that signs as the console', async () => {
    const trail = createTestTrail({ signer: () => pkcs11Signer(hsm!.settings) });
    try {
      await buildCheckpointedTrail(trail, 60, 30);
      const files = filesUnder(trail.dir);
      assert.ok(files.length > 0);
      for (const file of files) assert.doesNotMatch(readFileSync(file, 'latin1'), /PRIVATE KEY/, `${file} holds a private key`);
      // Even with the token's PIN, the private key's value cannot be read out: it is sensitive and non-extractable.
      closePkcs11Libraries();
      const p = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
      const lib = new p.PKCS11();
      lib.load(hsm!.settings.module);
      lib.C_Initialize();
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.startsWith('hotplane-test'))!;
      const session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION);
      lib.C_Login(session, p.CKU_USER, hsm!.settings.pin);
      lib.C_FindObjectsInit(session, [{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }]);
      const key = lib.C_FindObjects(session)!;
      lib.C_FindObjectsFinal(session);
      const [sensitive, extractable] = lib.C_GetAttributeValue(session, key, [{ type: p.CKA_SENSITIVE }, { type: p.CKA_EXTRACTABLE }]);
      assert.deepEqual([sensitive.value, extractable.value], [Buffer.from([1]), Buffer.from([0])]);
      assert.throws(() => lib.C_GetAttributeValue(session, key, [{ type: p.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
      lib.C_CloseSession(session);
      lib.C_Finalize();

      // A line forged with any other key, claiming the console's fingerprint, does not verify.
      const lines = readFileSync(trail.checkpointFile, 'utf8').trim().split('\n');
      const last = parseCheckpointLine(lines[1]);
      assert.ok(last.ok);
      const forger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const { signature: _genuine, ...unsigned } = last.checkpoint;
      const forged = { ...unsigned, signature: sign('sha256', checkpointSigningBytes(unsigned), { key: forger.privateKey, dsaEncoding: 'ieee-p1363' }).toString('hex') };
      writeFileSync(trail.checkpointFile, `${lines[0]}\n${JSON.stringify(forged)}\n`);
      const result = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: trail.signer().publicKey });
      assert.equal(result.ok, false);
      assert.deepEqual(
        result.problems.map((problem) => [problem.kind, problem.checkpointLine]),
        [['checkpoint-coverage', undefined], ['checkpoint-signature', 2]],
      );
      assert.match(result.problems[1].message, /not covered by a valid console signature: the line was forged or edited/);
      assert.equal(result.checkpointedThroughSeq, 30);
    } finally {
      await trail.close();
    }
  });

  test('earlier SM2 checkpoints still verify after the console moves from its key file to the token', async () => {
    let useToken = false;
    const trail = createTestTrail({ signer: () => (useToken ? pkcs11Signer({ ...hsm!.settings, keyLabel: 'moved-from-file' }) : fileSigner(trail.keyFile)) });
    try {
      await buildCheckpointedTrail(trail, 40, 20);
      useToken = true;
      // As after a restart with HOTPLANE_PKCS11_MODULE set: a new checkpointer, the old key file still beside it.
      const tokenSigner = pkcs11Signer({ ...hsm!.settings, keyLabel: 'moved-from-file' });
      const moved = new AuditCheckpointer({ checkpointFile: trail.checkpointFile, signer: () => tokenSigner, legacyKeyFile: trail.keyFile, checkpointEvery: 1, checkpointIntervalMs: 1 });
      await appendTestEvents(trail.db, 10);
      const checkpoint = await moved.checkpointNow(trail.db);
      assert.equal(checkpoint?.algorithm, 'ecdsa-p256');
      const lines = readFileSync(trail.checkpointFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(lines.map((line) => line.algorithm ?? 'sm2'), ['sm2', 'sm2', 'ecdsa-p256']);
      const result = await verifyAuditTrail(trail.db, { checkpointFile: trail.checkpointFile, publicKey: parsePublicKey(tokenSigner.publicKey.pem) });
      assert.equal(result.ok, true, JSON.stringify(result.problems));
      assert.equal(result.checkpointsTrusted, 3);
      assert.equal(result.checkpointedThroughSeq, 50);
    } finally {
      await trail.close();
    }
  });
});
