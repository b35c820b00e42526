// SM2 key encodings: SubjectPublicKeyInfo, PKCS#8 and SEC1 private keys, hex points. Pure (browser-safe).
// OpenSSL 3.0 writes SM2 keys as id-ecPublicKey with the named curve 1.2.156.10197.1.301; so do we.
import {
  DerError,
  DerTag,
  contextTag,
  decodeOid,
  derBitString,
  derElement,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  expectTag,
  readDer,
  readDerChildren,
  type DerNode,
} from './asn1.ts';
import { KeyError, KeyErrorCode } from './errors.ts';
import { bigintToBytes, bytesToBigint, hexToBytes, isHex } from './hex.ts';
import { looksLikePem, readPem, writePem } from './pem.ts';
import { SM2_N, SM2_SCALAR_LENGTH, isOnSm2Curve } from './sm2-curve.ts';

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_SM2_CURVE = '1.2.156.10197.1.301';

const KNOWN_CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'prime256v1 (P-256)',
  '1.3.132.0.34': 'secp384r1 (P-384)',
  '1.3.132.0.35': 'secp521r1 (P-521)',
  '1.3.132.0.10': 'secp256k1',
  [OID_SM2_CURVE]: 'SM2',
};

export function describeCurve(oid: string | undefined): string {
  if (oid === undefined) return 'explicit or missing curve parameters';
  return KNOWN_CURVES[oid] ?? `curve ${oid}`;
}

/** Uncompressed point 04‖x‖y. */
export const SM2_POINT_LENGTH = 1 + 2 * SM2_SCALAR_LENGTH;

export interface SpkiInfo {
  algorithmOid: string;
  /** The named curve, when the parameters are an OID. */
  curveOid?: string;
  /** BIT STRING contents without the unused-bits octet. */
  publicKey: Uint8Array;
}

function asKeyError(error: unknown, what: string): never {
  if (error instanceof DerError) throw new KeyError(KeyErrorCode.DER_MALFORMED, `${what} is not valid DER: ${error.message}`);
  throw error;
}

export function readSpki(der: Uint8Array): SpkiInfo {
  try {
    const [algorithm, bits] = readDerChildren(expectTag(readDer(der), DerTag.SEQUENCE, 'SubjectPublicKeyInfo'));
    const [algorithmOid, parameters] = readDerChildren(expectTag(algorithm, DerTag.SEQUENCE, 'AlgorithmIdentifier'));
    const bitString = expectTag(bits, DerTag.BIT_STRING, 'subjectPublicKey').value;
    if (bitString.length === 0 || bitString[0] !== 0) {
      throw new DerError('unexpected-tag', 'subjectPublicKey BIT STRING must have 0 unused bits');
    }
    return {
      algorithmOid: decodeOid(expectTag(algorithmOid, DerTag.OBJECT_IDENTIFIER, 'algorithm').value),
      curveOid: parameters?.tag === DerTag.OBJECT_IDENTIFIER ? decodeOid(parameters.value) : undefined,
      publicKey: bitString.subarray(1),
    };
  } catch (error) {
    return asKeyError(error, 'the public key (SubjectPublicKeyInfo)');
  }
}

export function isSm2Spki(info: SpkiInfo): boolean {
  return info.algorithmOid === OID_EC_PUBLIC_KEY && info.curveOid === OID_SM2_CURVE;
}

/** Checks an uncompressed SM2 point; returns it unchanged. */
export function checkSm2Point(point: Uint8Array): Uint8Array {
  if (point.length > 0 && point[0] !== 0x04) {
    throw new KeyError(
      KeyErrorCode.POINT_NOT_UNCOMPRESSED,
      `the SM2 public key starts with 0x${point[0].toString(16).padStart(2, '0')}; give the uncompressed form 04‖x‖y (65 bytes, 130 hex digits)`,
    );
  }
  if (point.length !== SM2_POINT_LENGTH) {
    throw new KeyError(
      KeyErrorCode.HEX_WRONG_LENGTH,
      `the SM2 public key is ${point.length} bytes; give 04‖x‖y: 65 bytes (130 hex digits)`,
    );
  }
  const x = bytesToBigint(point.subarray(1, 1 + SM2_SCALAR_LENGTH));
  const y = bytesToBigint(point.subarray(1 + SM2_SCALAR_LENGTH));
  if (!isOnSm2Curve(x, y)) {
    throw new KeyError(
      KeyErrorCode.POINT_NOT_ON_CURVE,
      'the SM2 public key is not a point on the SM2 curve (y² ≠ x³ + ax + b mod p); check that it was copied whole and is an SM2 key',
    );
  }
  return point;
}

/** Hex digits with optional whitespace and colons between them (as `openssl ec -text` prints). */
function cleanHex(text: string): string {
  return text.replace(/[\s:]+/g, '');
}

export function looksLikeHexKey(text: string): boolean {
  const cleaned = cleanHex(text);
  return cleaned.length > 0 && isHex(cleaned);
}

export function sm2PointFromHex(text: string): Uint8Array {
  const cleaned = cleanHex(text);
  if (!isHex(cleaned) || cleaned.length === 0) {
    throw new KeyError(KeyErrorCode.UNRECOGNISED_FORMAT, 'the SM2 public key is not hex; give 04‖x‖y as 130 hex digits');
  }
  if (cleaned.length === 2 * SM2_POINT_LENGTH - 2 && !cleaned.startsWith('04')) {
    throw new KeyError(
      KeyErrorCode.HEX_WRONG_LENGTH,
      'the SM2 public key has 128 hex digits (x‖y without a prefix); prefix it with 04 to give 04‖x‖y (130 hex digits)',
    );
  }
  if (cleaned.length % 2 !== 0) {
    throw new KeyError(KeyErrorCode.HEX_WRONG_LENGTH, `the SM2 public key has an odd number (${cleaned.length}) of hex digits; give 04‖x‖y as 130 hex digits`);
  }
  return checkSm2Point(hexToBytes(cleaned.toLowerCase()));
}

function algorithmIdentifierSm2(): Uint8Array {
  return derSequence(derOid(OID_EC_PUBLIC_KEY), derOid(OID_SM2_CURVE));
}

/** The DER SubjectPublicKeyInfo exactly as `openssl pkey -pubout -outform DER` writes it. */
export function sm2SpkiFromPoint(point: Uint8Array): Uint8Array {
  return derSequence(algorithmIdentifierSm2(), derBitString(checkSm2Point(point)));
}

export function sm2PublicKeyPem(point: Uint8Array): string {
  return writePem('PUBLIC KEY', sm2SpkiFromPoint(point));
}

/** PKCS#8 with the public key inside ECPrivateKey, the layout `openssl genpkey -algorithm SM2` writes. */
export function sm2Pkcs8FromPrivate(privateKey: bigint, point: Uint8Array): Uint8Array {
  const ecPrivateKey = derSequence(
    derInteger(1n),
    derOctetString(bigintToBytes(privateKey, SM2_SCALAR_LENGTH)),
    derElement(contextTag(1), derBitString(checkSm2Point(point))),
  );
  return derSequence(derInteger(0n), algorithmIdentifierSm2(), derOctetString(ecPrivateKey));
}

export function sm2PrivateKeyPem(privateKey: bigint, point: Uint8Array): string {
  return writePem('PRIVATE KEY', sm2Pkcs8FromPrivate(privateKey, point));
}

export interface Sm2PrivateKeyInfo {
  privateKey: bigint;
  /** The public point stored beside the private key, if the encoding carries one. */
  embeddedPublicKey?: Uint8Array;
}

function checkPrivateScalar(privateKey: bigint): bigint {
  // SM2 signing needs (1 + d) invertible mod n, hence d ≤ n − 2.
  if (privateKey < 1n || privateKey > SM2_N - 2n) {
    throw new KeyError(KeyErrorCode.PRIVATE_KEY_OUT_OF_RANGE, 'the SM2 private key must be an integer in [1, n − 2]');
  }
  return privateKey;
}

function findChild(children: DerNode[], tag: number): DerNode | undefined {
  return children.find((child) => child.tag === tag);
}

function readEcPrivateKey(der: Uint8Array, curveFromAlgorithm: string | undefined): Sm2PrivateKeyInfo {
  const [version, secret, ...optional] = readDerChildren(expectTag(readDer(der), DerTag.SEQUENCE, 'ECPrivateKey'));
  const versionValue = expectTag(version, DerTag.INTEGER, 'ECPrivateKey version').value;
  if (versionValue.length !== 1 || versionValue[0] !== 1) {
    throw new KeyError(KeyErrorCode.DER_MALFORMED, 'ECPrivateKey version must be 1');
  }
  const secretBytes = expectTag(secret, DerTag.OCTET_STRING, 'ECPrivateKey privateKey').value;
  if (secretBytes.length === 0 || secretBytes.length > SM2_SCALAR_LENGTH) {
    throw new KeyError(KeyErrorCode.DER_MALFORMED, `the EC private key is ${secretBytes.length} bytes; an SM2 key is 32`);
  }
  const parameters = findChild(optional, contextTag(0));
  const curveOid = parameters
    ? decodeOid(expectTag(readDer(parameters.value), DerTag.OBJECT_IDENTIFIER, 'ECPrivateKey parameters').value)
    : curveFromAlgorithm;
  if (curveOid !== OID_SM2_CURVE) {
    throw new KeyError(
      KeyErrorCode.UNSUPPORTED_CURVE,
      `the private key is on ${describeCurve(curveOid)}, not SM2; create one with: openssl genpkey -algorithm SM2 -out key.pem`,
    );
  }
  const publicKey = findChild(optional, contextTag(1));
  let embeddedPublicKey: Uint8Array | undefined;
  if (publicKey) {
    const bits = expectTag(readDer(publicKey.value), DerTag.BIT_STRING, 'ECPrivateKey publicKey').value;
    if (bits[0] !== 0) throw new KeyError(KeyErrorCode.DER_MALFORMED, 'ECPrivateKey publicKey must have 0 unused bits');
    embeddedPublicKey = checkSm2Point(bits.subarray(1));
  }
  return { privateKey: checkPrivateScalar(bytesToBigint(secretBytes)), embeddedPublicKey };
}

function readPkcs8(der: Uint8Array): Sm2PrivateKeyInfo {
  const [version, algorithm, privateKey] = readDerChildren(expectTag(readDer(der), DerTag.SEQUENCE, 'PrivateKeyInfo'));
  expectTag(version, DerTag.INTEGER, 'PrivateKeyInfo version');
  const [algorithmOid, parameters] = readDerChildren(expectTag(algorithm, DerTag.SEQUENCE, 'AlgorithmIdentifier'));
  const oid = decodeOid(expectTag(algorithmOid, DerTag.OBJECT_IDENTIFIER, 'algorithm').value);
  if (oid !== OID_EC_PUBLIC_KEY) {
    throw new KeyError(
      KeyErrorCode.UNSUPPORTED_ALGORITHM,
      `the private key's algorithm is ${oid}, not an EC/SM2 key; create one with: openssl genpkey -algorithm SM2 -out key.pem`,
    );
  }
  const curveOid = parameters?.tag === DerTag.OBJECT_IDENTIFIER ? decodeOid(parameters.value) : undefined;
  return readEcPrivateKey(expectTag(privateKey, DerTag.OCTET_STRING, 'PrivateKeyInfo privateKey').value, curveOid);
}

/**
 * Reads an SM2 private key: PEM "PRIVATE KEY" (PKCS#8, what `openssl genpkey -algorithm SM2` writes),
 * PEM "EC PRIVATE KEY" / "SM2 PRIVATE KEY" (SEC1, what `openssl ec` writes), or 64 hex digits.
 */
export function readSm2PrivateKey(text: string): Sm2PrivateKeyInfo {
  const trimmed = text.trim();
  if (trimmed === '') throw new KeyError(KeyErrorCode.EMPTY, 'the SM2 private key is empty');
  if (!looksLikePem(trimmed)) {
    const cleaned = cleanHex(trimmed);
    if (!isHex(cleaned)) {
      throw new KeyError(
        KeyErrorCode.UNRECOGNISED_FORMAT,
        'the SM2 private key is neither PEM nor hex; give a PEM "PRIVATE KEY" (openssl genpkey -algorithm SM2) or 64 hex digits',
      );
    }
    if (cleaned.length !== 2 * SM2_SCALAR_LENGTH) {
      throw new KeyError(KeyErrorCode.HEX_WRONG_LENGTH, `the SM2 private key has ${cleaned.length} hex digits; give exactly 64`);
    }
    return { privateKey: checkPrivateScalar(BigInt(`0x${cleaned}`)) };
  }
  const { label, der } = readPem(trimmed);
  try {
    switch (label) {
      case 'PRIVATE KEY':
        return readPkcs8(der);
      case 'EC PRIVATE KEY':
      case 'SM2 PRIVATE KEY':
        return readEcPrivateKey(der, undefined);
      case 'ENCRYPTED PRIVATE KEY':
        throw new KeyError(
          KeyErrorCode.ENCRYPTED_PRIVATE_KEY,
          'the private key is encrypted with a passphrase; decrypt it first: openssl pkey -in key.pem -out plain.pem',
        );
      case 'PUBLIC KEY':
        throw new KeyError(KeyErrorCode.PUBLIC_KEY_GIVEN, 'this is a public key; signing needs the private key (PEM "PRIVATE KEY")');
      default:
        throw new KeyError(
          KeyErrorCode.UNRECOGNISED_FORMAT,
          `a PEM "${label}" is not an SM2 private key; give a PEM "PRIVATE KEY" (openssl genpkey -algorithm SM2) or 64 hex digits`,
        );
    }
  } catch (error) {
    return asKeyError(error, 'the private key');
  }
}
