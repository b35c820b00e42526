// Signature verification by key algorithm. Pure: the registry and SM2 are here; the node:crypto verifiers
// (Ed25519, ECDSA P-256) live in node-verifiers.ts, which keys.ts loads.
import { SignatureError, SignatureErrorCode } from './errors.ts';
import type { KeyAlgorithm, ParsedPublicKey } from './keys.ts';
import { hexToBytes } from './hex.ts';
import { decodeScalarPairSignature, type DecodedSignature, type SignatureEncoding, type SignatureTransport } from './signature-encoding.ts';
import { SM2_DEFAULT_USER_ID, SM2_N, SM2_SCALAR_LENGTH } from './sm2-curve.ts';
import { verifySm2 } from './sm2.ts';

export interface SignatureVerifier {
  algorithm: KeyAlgorithm;
  /** Shown in messages, e.g. "SM2". */
  displayName: string;
  /** Decodes the signature file; throws SignatureError when its encoding is not accepted. */
  decode(signatureFile: Uint8Array): DecodedSignature;
  /** True when the decoded signature is valid for the exact message bytes and key. */
  verify(message: Uint8Array, signature: DecodedSignature, key: ParsedPublicKey): boolean;
  /** Appended to the mismatch message: the likely cause for this algorithm. */
  mismatchHint?: string;
  /** A mismatch this algorithm can name precisely (a known signing mistake), or null. */
  diagnoseMismatch?(message: Uint8Array, signature: DecodedSignature, key: ParsedPublicKey): { code: SignatureErrorCode; message: string } | null;
}

export type SignatureVerification =
  | { ok: true; encoding: SignatureEncoding; transport: SignatureTransport }
  | { ok: false; code: SignatureErrorCode; message: string };

export const sm2Verifier: SignatureVerifier = {
  algorithm: 'sm2',
  displayName: 'SM2',
  decode: (signatureFile) =>
    decodeScalarPairSignature(signatureFile, { algorithmName: 'SM2', order: SM2_N, scalarLength: SM2_SCALAR_LENGTH }),
  verify: (message, signature, key) => {
    if (!key.rawHex) return false;
    return verifySm2(message, signature.raw, hexToBytes(key.rawHex));
  },
  mismatchHint: `SM2 signatures must use the user ID ${SM2_DEFAULT_USER_ID} (with OpenSSL: -pkeyopt distid:${SM2_DEFAULT_USER_ID} when signing)`,
  // OpenSSL signs with an empty ID unless told otherwise: the commonest reason a genuine signature fails.
  diagnoseMismatch: (message, signature, key) => {
    if (!key.rawHex || !verifySm2(message, signature.raw, hexToBytes(key.rawHex), '')) return null;
    return {
      code: SignatureErrorCode.SM2_EMPTY_USER_ID,
      message:
        `the SM2 signature was made with an empty user ID: it verifies with the empty ID but not with ${SM2_DEFAULT_USER_ID}, ` +
        `the ID Hotplane requires (key ${key.fingerprint.slice(0, 16)}…); sign again with OpenSSL's -pkeyopt distid:${SM2_DEFAULT_USER_ID}`,
    };
  },
};

const verifiers = new Map<KeyAlgorithm, SignatureVerifier>([[sm2Verifier.algorithm, sm2Verifier]]);

/** Adds an algorithm. Registering a different verifier for an algorithm that has one is refused. */
export function registerSignatureAlgorithm(verifier: SignatureVerifier): void {
  const existing = verifiers.get(verifier.algorithm);
  if (existing && existing !== verifier) {
    throw new Error(`a verifier for ${verifier.algorithm} is already registered`);
  }
  verifiers.set(verifier.algorithm, verifier);
}

export function registeredSignatureAlgorithms(): KeyAlgorithm[] {
  return [...verifiers.keys()];
}

/**
 * Verifies `signature` (the signature file's bytes) over `message` (the exact bytes that were signed, e.g.
 * the manifest file as uploaded: verify first, parse after). A refused signature is a result, not an
 * exception; only non-byte arguments (a programming error) throw.
 */
export function verifySignature(input: { message: Uint8Array; signature: Uint8Array; key: ParsedPublicKey }): SignatureVerification {
  const { message, signature, key } = input;
  if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new TypeError('message and signature must be Uint8Array: the exact bytes, never re-serialised text');
  }
  const verifier = verifiers.get(key.algorithm);
  if (!verifier) {
    return {
      ok: false,
      code: SignatureErrorCode.UNSUPPORTED_ALGORITHM,
      message: `no verifier is registered for ${key.algorithm}; registered: ${registeredSignatureAlgorithms().join(', ')}`,
    };
  }
  let decoded: DecodedSignature;
  try {
    decoded = verifier.decode(signature);
  } catch (error) {
    if (error instanceof SignatureError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
  if (!verifier.verify(message, decoded, key)) {
    const diagnosed = verifier.diagnoseMismatch?.(message, decoded, key);
    if (diagnosed) return { ok: false, ...diagnosed };
    const hint = verifier.mismatchHint ? `; ${verifier.mismatchHint}` : '';
    return {
      ok: false,
      code: SignatureErrorCode.MISMATCH,
      message: `the ${verifier.displayName} signature does not match these bytes and the key ${key.fingerprint.slice(0, 16)}…${hint}`,
    };
  }
  return { ok: true, encoding: decoded.encoding, transport: decoded.transport };
}
