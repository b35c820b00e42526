// The signer this console uses, chosen by the settings: a PKCS#11 token when one is configured, else the
// SM2 key file (said plainly in the log and shown as a banner, because then the data folder holds the key).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { config, type AuditPkcs11Config, type HotplaneConfig } from '../../config';
import { fileSigner } from './file-signer';
import { pkcs11Signer } from './pkcs11-signer';
import { FILE_KEY_WARNING, type AuditSigner } from './signer';

const isInside = (file: string, dir: string) => !path.relative(dir, file).startsWith('..');

function readPin(settings: AuditPkcs11Config, dataDir: string): string {
  if (settings.pinFile) {
    if (isInside(settings.pinFile, dataDir)) {
      throw new Error(`the PKCS#11 PIN file ${settings.pinFile} is inside the data folder ${dataDir}: whoever reads the folder would hold the PIN; keep it elsewhere`);
    }
    const mode = statSync(settings.pinFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`the PKCS#11 PIN file ${settings.pinFile} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${settings.pinFile}`);
    }
    return readFileSync(settings.pinFile, 'utf8').trim();
  }
  if (settings.pin) return settings.pin;
  throw new Error('HOTPLANE_PKCS11_MODULE is set but no PIN is given: set HOTPLANE_PKCS11_PIN_FILE (a 0600 file outside the data folder) or HOTPLANE_PKCS11_PIN');
}

export function createConsoleSigner(settings: HotplaneConfig = config()): AuditSigner {
  const pkcs11 = settings.auditPkcs11;
  if (!pkcs11) return fileSigner(settings.consoleKeyFile);
  return pkcs11Signer({ ...pkcs11, pin: readPin(pkcs11, settings.dataDir) });
}

const holder = globalThis as unknown as { hotplaneAuditSigner?: AuditSigner };

/** The process's signer, opened once; the file-key warning is logged when it is first opened. */
export function consoleSigner(): AuditSigner {
  if (!holder.hotplaneAuditSigner) {
    holder.hotplaneAuditSigner = createConsoleSigner();
    if (holder.hotplaneAuditSigner.custody === 'file') console.warn(`hotplane: WARNING ${FILE_KEY_WARNING}`);
  }
  return holder.hotplaneAuditSigner;
}
