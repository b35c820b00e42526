// `npm start` in demo mode: the token and its PIN outside the data folder, the PIN passed by file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { prepareDemoHsm } from '../../../scripts/demo-hsm.mjs';
import { loadConfig } from '../../config';
import { createConsoleSigner } from './console-signer';
import { closePkcs11Libraries } from './pkcs11-signer';
import { softHsmInstalled } from './softhsm-test-support';

const root = mkdtempSync(path.join(os.tmpdir(), 'hotplane-demo-hsm-'));
after(() => {
  closePkcs11Libraries();
  rmSync(root, { recursive: true, force: true });
});

test('demo start puts the audit key on a SoftHSM2 token outside the data folder, its PIN in a 0600 file', { skip: !softHsmInstalled && 'softhsm2 is not installed' }, () => {
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', HOTPLANE_DATA_DIR: path.join(root, 'data') };
  prepareDemoHsm(env, root);
  const dir = path.join(root, '.hotplane-hsm');
  assert.equal(env.HOTPLANE_PKCS11_MODULE, '/usr/lib/softhsm/libsofthsm2.so');
  assert.equal(env.HOTPLANE_PKCS11_PIN_FILE, path.join(dir, 'user-pin'));
  assert.equal(env.HOTPLANE_PKCS11_PIN, undefined, 'the PIN itself is never put in the environment or argv');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(env.HOTPLANE_PKCS11_PIN_FILE!).mode & 0o777, 0o600);
  assert.match(readFileSync(env.SOFTHSM2_CONF!, 'utf8'), new RegExp(`directories.tokendir = ${path.join(dir, 'tokens')}`));
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  const signer = createConsoleSigner(loadConfig(env));
  assert.equal(signer.custody, 'pkcs11');
  assert.equal(signer.algorithm, 'ecdsa-p256');
  // A second start reuses the PIN and the key.
  const pin = readFileSync(env.HOTPLANE_PKCS11_PIN_FILE!, 'utf8');
  prepareDemoHsm({ NODE_ENV: 'test', HOTPLANE_DATA_DIR: path.join(root, 'data') }, root);
  assert.equal(readFileSync(env.HOTPLANE_PKCS11_PIN_FILE!, 'utf8'), pin);
  assert.equal(createConsoleSigner(loadConfig(env)).fingerprint, signer.fingerprint);
});

test('a PIN file inside the data folder is refused: whoever reads the folder would hold the PIN', () => {
  const settings = loadConfig({
    NODE_ENV: 'test',
    HOTPLANE_DATA_DIR: path.join(root, 'data'),
    HOTPLANE_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
    HOTPLANE_PKCS11_PIN_FILE: path.join(root, 'data', 'pin'),
  });
  assert.throws(() => createConsoleSigner(settings), /the PKCS#11 PIN file .*\/data\/pin is inside the data folder .*: whoever reads the folder would hold the PIN/);
});

test('without PKCS#11 the signer is the SM2 key file, and says so', () => {
  const signer = createConsoleSigner(loadConfig({ NODE_ENV: 'test', HOTPLANE_DATA_DIR: path.join(root, 'file-data') }));
  assert.equal(signer.custody, 'file');
  assert.equal(signer.algorithm, 'sm2');
  assert.match(signer.description, /SM2 key file .*file-data\/console-key\.pem/);
});
