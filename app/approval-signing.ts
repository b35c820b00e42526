import { bytesToHex, hexToBytes } from '@/server/crypto/hex';
import { spkiFingerprint } from '@/server/crypto/fingerprint';
import { signSm2, sm2PublicKeyFromPrivate } from '@/server/crypto/sm2';
import { sm2SpkiFromPoint } from '@/server/crypto/sm2-keys';

// Approvals are signed in the browser: the private key is read here, used, and never leaves the page
// (docs/rollouts.md, "The digest and approvals").

/** DER signature (hex) over the 32 bytes of the request digest, as the server verifies it. */
export function signChangeDigest(digestHex: string, privateKey: string): string {
  return bytesToHex(signSm2(hexToBytes(digestHex), privateKey.trim()));
}

/** The public key (04‖x‖y hex) of a pasted or loaded private key; throws on anything that is not one. */
export function publicKeyOfPrivate(privateKey: string): string {
  return sm2PublicKeyFromPrivate(privateKey.trim());
}

/**
 * The fingerprint of a public key (04‖x‖y hex) as the console stores and shows it for registered keys, so a person
 * can see which of their keys they loaded without the private key being on screen.
 */
export function fingerprintOfPublicPoint(publicKeyHex: string): string {
  return spkiFingerprint(sm2SpkiFromPoint(hexToBytes(publicKeyHex)));
}

/**
 * Whether pasted text is a private key of any kind (PEM "… PRIVATE KEY", or SM2 as 64 hex digits), so the page can
 * stop it before it is sent anywhere.
 */
export function looksLikePrivateKey(text: string): boolean {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return true;
  try {
    publicKeyOfPrivate(text);
    return true;
  } catch {
    return false;
  }
}
