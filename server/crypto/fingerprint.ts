// Signer key fingerprints: SM3 over the DER SubjectPublicKeyInfo, so a key has one fingerprint whatever form
// it was given in. Pure (sm-crypto's SM3; the input is ~100 bytes, speed does not matter) so the browser can
// show the same fingerprint the server stores.
import smCrypto from 'sm-crypto';

const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

/** Lower-case hex SM3 digest of the DER SubjectPublicKeyInfo. */
export function spkiFingerprint(spkiDer: Uint8Array): string {
  return smCrypto.sm3(spkiDer);
}

/** For display: 16 upper-case groups of four hex digits, e.g. "66C7 F0F4 62EE … 8F4B A8E0". */
export function formatFingerprint(fingerprint: string): string {
  const normalised = fingerprint.toLowerCase();
  if (!FINGERPRINT_PATTERN.test(normalised)) throw new TypeError('a fingerprint is 64 hex digits (SM3)');
  return normalised.toUpperCase().match(/.{4}/g)!.join(' ');
}
