// `npm start` in demo mode: keep the console's audit signing key on a SoftHSM2 token when softhsm2 is installed.
// The token directory and its PIN file live outside the data folder (<project>/.hotplane-hsm, 0700; PIN 0600);
// the console initialises the token and generates the key on it the first time it starts. The PIN reaches the
// console by file, never on a command line. Without softhsm2 the key is a file, and the console says so.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** Sets the PKCS#11 settings in `env` for the console and the bootstrap; a no-op outside demo mode or when already configured. */
export function prepareDemoHsm(env, root) {
  if (env.HOTPLANE_DEMO === '0' || env.HOTPLANE_PKCS11_MODULE) return;
  if (!existsSync(SOFTHSM_MODULE)) {
    console.warn(
      'hotplane: WARNING softhsm2 is not installed: the audit signing key is a FILE in the data folder, readable by anyone who ' +
        'can read that folder. Install it (apt-get install -y softhsm2) to keep the key on a token.',
    );
    return;
  }
  const dir = path.resolve(env.HOTPLANE_HSM_DIR ?? path.join(root, '.hotplane-hsm'));
  mkdirSync(path.join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const conf = path.join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  const pinFile = path.join(dir, 'user-pin');
  if (!existsSync(pinFile)) writeFileSync(pinFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(pinFile, 0o600);
  Object.assign(env, {
    SOFTHSM2_CONF: conf,
    HOTPLANE_PKCS11_MODULE: SOFTHSM_MODULE,
    HOTPLANE_PKCS11_PIN_FILE: pinFile,
    HOTPLANE_PKCS11_INIT_TOKEN: '1',
  });
  console.log(`hotplane: the audit signing key lives on a SoftHSM2 token in ${dir} (outside the data folder)`);
}
