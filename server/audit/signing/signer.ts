// The console's audit signer: whatever holds the key, checkpoints, evidence bundles and exports are signed
// through this one interface. Verification never needs the signer, only its public key.
import type { KeyAlgorithm, ParsedPublicKey } from '../../crypto/keys';

/** Where the private key lives: on a PKCS#11 token (it never leaves it), or in a file of the data folder. */
export type KeyCustody = 'pkcs11' | 'file';

export interface AuditSigner {
  algorithm: KeyAlgorithm;
  publicKey: ParsedPublicKey;
  /** SM3 over the public key's DER SubjectPublicKeyInfo, as for every key in Hotplane. */
  fingerprint: string;
  custody: KeyCustody;
  /** For logs and the console: "PKCS#11 token hotplane-console, key hotplane-audit-signing" or the key file. */
  description: string;
  /** A signature over the exact bytes, in the form verifySignature accepts for `algorithm`. */
  sign(bytes: Uint8Array): Uint8Array;
}

export const FILE_KEY_WARNING =
  'the audit signing key is a file in the data folder: anyone who can read that folder can sign checkpoints and ' +
  'evidence as this console. Configure a PKCS#11 token (HOTPLANE_PKCS11_MODULE, docs/audit.md) to keep it off the disk';
