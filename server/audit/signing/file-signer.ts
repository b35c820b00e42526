// The legacy signer: the SM2 key file in the data folder (server/audit/console-key.ts). Used when no PKCS#11
// token is configured; the console then says plainly that the key is a file.
import { parsePublicKey } from '../../crypto/keys';
import { signSm2, sm2PublicKeyFromPrivate } from '../../crypto/sm2';
import { loadOrCreateConsoleKey } from '../console-key';
import type { AuditSigner } from './signer';

/** A signer over an SM2 private key held in memory (PKCS#8 PEM). */
export function sm2Signer(privateKeyPem: string, description: string): AuditSigner {
  const publicKey = parsePublicKey(sm2PublicKeyFromPrivate(privateKeyPem));
  return {
    algorithm: 'sm2',
    publicKey,
    fingerprint: publicKey.fingerprint,
    custody: 'file',
    description,
    sign: (bytes) => signSm2(bytes, privateKeyPem),
  };
}

export function fileSigner(keyFile: string): AuditSigner {
  return sm2Signer(loadOrCreateConsoleKey(keyFile).privateKeyPem, `SM2 key file ${keyFile}`);
}
