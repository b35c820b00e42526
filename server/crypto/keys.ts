// Signer public keys: SM2 (PEM SubjectPublicKeyInfo or hex 04‖x‖y), Ed25519 and ECDSA P-256 (PEM).
// Node-only (node:crypto reads the non-SM2 keys); SM2 parsing itself lives in the pure sm2-keys.ts.
import { createPublicKey, type KeyObject } from 'node:crypto';
// Only this module makes Ed25519 and P-256 keys, so loading their verifiers here means every such key can
// be verified, whichever module the caller imports verifySignature from.
import './node-verifiers.ts';
import { KeyError, KeyErrorCode } from './errors.ts';
import { spkiFingerprint } from './fingerprint.ts';
import { bytesToHex } from './hex.ts';
import { looksLikePem, readPem, writePem } from './pem.ts';
import {
  OID_EC_PUBLIC_KEY,
  checkSm2Point,
  describeCurve,
  isSm2Spki,
  looksLikeHexKey,
  readSpki,
  sm2PointFromHex,
  sm2SpkiFromPoint,
} from './sm2-keys.ts';

export { formatFingerprint } from './fingerprint.ts';

export type KeyAlgorithm = 'sm2' | 'ed25519' | 'ecdsa-p256';

export interface ParsedPublicKey {
  algorithm: KeyAlgorithm;
  /** Canonical DER SubjectPublicKeyInfo. */
  spkiDer: Buffer;
  /** PEM "PUBLIC KEY" of spkiDer. */
  pem: string;
  /** SM2 only: the uncompressed point 04‖x‖y, lower-case hex. */
  rawHex?: string;
  /** SM3 hex over spkiDer: the same whichever form the key was given in. */
  fingerprint: string;
}

const ACCEPTED_FORMS =
  'give a PEM "PUBLIC KEY" (openssl pkey -in key.pem -pubout) for SM2, Ed25519 or ECDSA P-256, or an SM2 key as hex 04‖x‖y (130 hex digits)';

function fromSpki(algorithm: KeyAlgorithm, spkiDer: Uint8Array, rawHex?: string): ParsedPublicKey {
  return {
    algorithm,
    spkiDer: Buffer.from(spkiDer),
    pem: writePem('PUBLIC KEY', spkiDer),
    ...(rawHex === undefined ? {} : { rawHex }),
    fingerprint: spkiFingerprint(spkiDer),
  };
}

function fromSm2Point(point: Uint8Array): ParsedPublicKey {
  return fromSpki('sm2', sm2SpkiFromPoint(point), bytesToHex(point));
}

function nodeKeyAlgorithm(key: KeyObject): KeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

function fromOtherSpki(spkiDer: Uint8Array, algorithmOid: string, curveOid: string | undefined): ParsedPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (error) {
    throw new KeyError(KeyErrorCode.DER_MALFORMED, `the public key could not be read (${(error as Error).message}); ${ACCEPTED_FORMS}`);
  }
  const algorithm = nodeKeyAlgorithm(key);
  if (algorithm) return fromSpki(algorithm, key.export({ format: 'der', type: 'spki' }));
  if (algorithmOid === OID_EC_PUBLIC_KEY) {
    throw new KeyError(
      KeyErrorCode.UNSUPPORTED_CURVE,
      `the EC public key is on ${describeCurve(curveOid)}; Hotplane accepts SM2 and P-256 (prime256v1) EC keys`,
    );
  }
  throw new KeyError(
    KeyErrorCode.UNSUPPORTED_ALGORITHM,
    `the public key is ${key.asymmetricKeyType ?? `algorithm ${algorithmOid}`}; Hotplane accepts SM2, Ed25519 and ECDSA P-256`,
  );
}

function fromPem(text: string): ParsedPublicKey {
  const { label, der } = readPem(text);
  if (label.endsWith('PRIVATE KEY')) {
    throw new KeyError(
      KeyErrorCode.PRIVATE_KEY_GIVEN,
      'this is a private key; never hand it over: give its public key, made with openssl pkey -in key.pem -pubout',
    );
  }
  if (label !== 'PUBLIC KEY') throw new KeyError(KeyErrorCode.UNRECOGNISED_FORMAT, `a PEM "${label}" is not a public key; ${ACCEPTED_FORMS}`);
  const info = readSpki(der);
  if (isSm2Spki(info)) return fromSm2Point(checkSm2Point(info.publicKey));
  return fromOtherSpki(der, info.algorithmOid, info.curveOid);
}

/**
 * Parses a signer public key. Hex SM2 keys may contain whitespace and colons between digits (as
 * `openssl ec -text` prints them); the 04 prefix is required.
 */
export function parsePublicKey(input: string): ParsedPublicKey {
  const text = input.trim();
  if (text === '') throw new KeyError(KeyErrorCode.EMPTY, `the public key is empty; ${ACCEPTED_FORMS}`);
  if (looksLikePem(text)) return fromPem(text);
  if (looksLikeHexKey(text)) return fromSm2Point(sm2PointFromHex(text));
  throw new KeyError(KeyErrorCode.UNRECOGNISED_FORMAT, `the public key is neither PEM nor hex; ${ACCEPTED_FORMS}`);
}
