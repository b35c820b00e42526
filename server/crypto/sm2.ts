// SM2 key generation, signing and verification (GM/T 0003, e = SM3(Z_A ‖ M), default user ID).
// Pure: sm-crypto and Web Crypto randomness only, so the browser approval flow can bundle it.
import smCrypto from 'sm-crypto';
import { KeyError, KeyErrorCode } from './errors.ts';
import { bytesEqual, bytesToBigint, bytesToHex, hexToBytes } from './hex.ts';
import { SM2_DEFAULT_USER_ID, SM2_N, SM2_SCALAR_LENGTH } from './sm2-curve.ts';
import { readSm2PrivateKey, sm2PrivateKeyPem, sm2PublicKeyPem } from './sm2-keys.ts';

const { sm2 } = smCrypto;

export interface Sm2KeyPair {
  /** 64 hex digits. */
  privateKeyHex: string;
  /** Uncompressed point 04‖x‖y, 130 hex digits. */
  publicKeyHex: string;
  /** PKCS#8 "PRIVATE KEY", readable by `openssl pkeyutl -sign`. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo "PUBLIC KEY", as `openssl pkey -pubout` writes. */
  publicKeyPem: string;
}

function scalarHex(value: bigint): string {
  return value.toString(16).padStart(2 * SM2_SCALAR_LENGTH, '0');
}

function publicPointOf(privateKey: bigint): Uint8Array {
  return hexToBytes(sm2.getPublicKeyFromPrivateKey(scalarHex(privateKey)));
}

// sm-crypto's own key generator draws from an RC4 stream; take the private key straight from the platform CSPRNG.
function randomPrivateScalar(): bigint {
  const bytes = new Uint8Array(SM2_SCALAR_LENGTH);
  for (;;) {
    globalThis.crypto.getRandomValues(bytes);
    const candidate = bytesToBigint(bytes);
    // Rejection sampling keeps d uniform in [1, n − 2].
    if (candidate >= 1n && candidate <= SM2_N - 2n) return candidate;
  }
}

export function generateSm2KeyPair(): Sm2KeyPair {
  const privateKey = randomPrivateScalar();
  const point = publicPointOf(privateKey);
  return {
    privateKeyHex: scalarHex(privateKey),
    publicKeyHex: bytesToHex(point),
    privateKeyPem: sm2PrivateKeyPem(privateKey, point),
    publicKeyPem: sm2PublicKeyPem(point),
  };
}

interface Sm2Signer {
  privateKey: bigint;
  point: Uint8Array;
}

function readSigner(privateKeyText: string): Sm2Signer {
  const { privateKey, embeddedPublicKey } = readSm2PrivateKey(privateKeyText);
  const point = publicPointOf(privateKey);
  // A stored public key that disagrees with d·G means a corrupted or spliced key file: signing would
  // produce signatures that verify against neither key.
  if (embeddedPublicKey && !bytesEqual(embeddedPublicKey, point)) {
    throw new KeyError(KeyErrorCode.PRIVATE_KEY_MISMATCH, 'the public key stored in the private key file does not match the private key');
  }
  return { privateKey, point };
}

/** The public key (04‖x‖y hex) of a private key given as hex or PEM (PKCS#8 or SEC1). */
export function sm2PublicKeyFromPrivate(privateKey: string): string {
  return bytesToHex(readSigner(privateKey).point);
}

function assertBytes(message: unknown): asserts message is Uint8Array {
  // Strings would be UTF-8 encoded by sm-crypto: callers must pass the exact bytes they mean.
  if (!(message instanceof Uint8Array)) throw new TypeError('the message must be a Uint8Array of the exact bytes to sign');
}

/**
 * Signs `message` with SM2 and the default user ID; returns the DER signature as OpenSSL writes it.
 * `privateKey`: 64 hex digits, PEM "PRIVATE KEY" (PKCS#8) or PEM "EC PRIVATE KEY" / "SM2 PRIVATE KEY" (SEC1).
 */
export function signSm2(message: Uint8Array, privateKey: string): Uint8Array {
  assertBytes(message);
  const signer = readSigner(privateKey);
  const signatureHex = sm2.doSignature(message, scalarHex(signer.privateKey), {
    hash: true,
    der: true,
    publicKey: bytesToHex(signer.point),
    userId: SM2_DEFAULT_USER_ID,
  });
  return hexToBytes(signatureHex);
}

/**
 * Verifies a raw r‖s signature (64 bytes) over `message` for the public point 04‖x‖y. `userId` other than the
 * GM/T default is only for diagnosing a signature made with another ID, never for accepting one.
 */
export function verifySm2(message: Uint8Array, rawSignature: Uint8Array, publicPoint: Uint8Array, userId: string = SM2_DEFAULT_USER_ID): boolean {
  assertBytes(message);
  if (rawSignature.length !== 2 * SM2_SCALAR_LENGTH) throw new RangeError('a raw SM2 signature is r‖s, 64 bytes');
  return sm2.doVerifySignature(message, bytesToHex(rawSignature), bytesToHex(publicPoint), {
    hash: true,
    der: false,
    userId,
  });
}
