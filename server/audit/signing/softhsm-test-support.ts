// A private SoftHSM2 token directory per test process: SOFTHSM2_CONF points at a config naming it. The
// library reads the variable when it initialises, so this runs before the first PKCS#11 signer is opened.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pkcs11Settings } from './pkcs11-signer';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const softHsmInstalled = existsSync(SOFTHSM_MODULE);

export function useTestSoftHsm(): { dir: string; settings: Pkcs11Settings } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-softhsm-'));
  mkdirSync(path.join(dir, 'tokens'), { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    settings: { module: SOFTHSM_MODULE, tokenLabel: 'hotplane-test', keyLabel: 'hotplane-audit-signing', pin: 'test-pin-4321', initToken: true },
  };
}
