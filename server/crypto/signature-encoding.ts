// Signature file decoding: binary or hex text, DER SEQUENCE { r, s } or raw fixed-length bytes.
// Strict on purpose: one signature has one accepted encoding, so no malleated variant passes. Pure.
import { DerError, DerTag, readDer, readDerChildren, type DerNode } from './asn1.ts';
import { SignatureError, SignatureErrorCode } from './errors.ts';
import { bigintToBytes, bytesToBigint, concatBytes, hexToBytes } from './hex.ts';

export type SignatureTransport = 'binary' | 'hex';
export type SignatureEncoding = 'der' | 'raw';

export interface DecodedSignature {
  transport: SignatureTransport;
  encoding: SignatureEncoding;
  /** The fixed-length form: r‖s for SM2/ECDSA, the 64 signature bytes for Ed25519. */
  raw: Uint8Array;
}

export interface ScalarPairRules {
  /** Shown in messages, e.g. "SM2". */
  algorithmName: string;
  /** The group order n: r and s must lie in [1, n − 1]. */
  order: bigint;
  /** Bytes per scalar in the raw form. */
  scalarLength: number;
}

const ASCII_WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);

function isHexDigitByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

const isHexPrefix = (bytes: Uint8Array) => bytes[0] === 0x30 && (bytes[1] === 0x78 || bytes[1] === 0x58);

function hasHexPrefix(significant: Uint8Array): boolean {
  return significant.length > 2 && isHexPrefix(significant) && significant.subarray(2).every(isHexDigitByte);
}

/**
 * Hex text (whitespace anywhere ignored) or binary. A binary DER signature cannot pass for hex (its third
 * byte is 0x02), and a raw 64-byte one made only of hex-digit bytes has probability (22/256)^64.
 */
export function readSignatureFile(file: Uint8Array): { bytes: Uint8Array; transport: SignatureTransport } {
  const significant = file.filter((byte) => !ASCII_WHITESPACE.has(byte));
  if (significant.length === 0) throw new SignatureError(SignatureErrorCode.EMPTY, 'the signature file is empty');
  // Named rather than read, so one signature keeps one accepted form. Never binary DER: its second byte, the
  // length, is at most 72 for SM2, and "x" is 120.
  if (hasHexPrefix(significant)) {
    throw new SignatureError(
      SignatureErrorCode.HEX_0X_PREFIX,
      'the signature is hex text with a "0x" prefix; remove the "0x" and give the hex digits alone (as `xxd -p` or `hotplane sign --hex` writes them)',
    );
  }
  if (!significant.every(isHexDigitByte)) return { bytes: file, transport: 'binary' };
  if (significant.length % 2 !== 0) {
    throw new SignatureError(
      SignatureErrorCode.HEX_ODD_LENGTH,
      `the signature is hex text with an odd number (${significant.length}) of digits; a digit is missing or extra`,
    );
  }
  return { bytes: hexToBytes(new TextDecoder().decode(significant)), transport: 'hex' };
}

const DER_PROBLEM_CODES: Record<DerError['problem'], SignatureErrorCode> = {
  'truncated': SignatureErrorCode.DER_MALFORMED,
  'indefinite-length': SignatureErrorCode.DER_MALFORMED,
  'unexpected-tag': SignatureErrorCode.DER_MALFORMED,
  'non-minimal-length': SignatureErrorCode.DER_NON_MINIMAL_LENGTH,
  'trailing-bytes': SignatureErrorCode.DER_TRAILING_BYTES,
};

function derFailure(code: SignatureErrorCode, detail: string): SignatureError {
  return new SignatureError(code, `the DER signature is not strict DER: ${detail}; give SEQUENCE { r INTEGER, s INTEGER } as OpenSSL writes it`);
}

function readDerScalar(node: DerNode, name: 'r' | 's'): bigint {
  if (node.tag !== DerTag.INTEGER) throw derFailure(SignatureErrorCode.DER_MALFORMED, `${name} is not an INTEGER`);
  const value = node.value;
  if (value.length === 0) throw derFailure(SignatureErrorCode.DER_MALFORMED, `${name} is an empty INTEGER`);
  if ((value[0] & 0x80) !== 0) throw derFailure(SignatureErrorCode.DER_NEGATIVE_INTEGER, `${name} is negative`);
  if (value.length > 1 && value[0] === 0 && (value[1] & 0x80) === 0) {
    throw derFailure(SignatureErrorCode.DER_NON_MINIMAL_INTEGER, `${name} has a superfluous leading zero byte`);
  }
  return bytesToBigint(value);
}

function readDerSignature(bytes: Uint8Array): { r: bigint; s: bigint } {
  try {
    const sequence = readDer(bytes);
    if (sequence.tag !== DerTag.SEQUENCE) throw derFailure(SignatureErrorCode.DER_MALFORMED, 'it does not start with a SEQUENCE');
    const children = readDerChildren(sequence);
    if (children.length < 2) throw derFailure(SignatureErrorCode.DER_MALFORMED, 'the SEQUENCE holds fewer than two INTEGERs');
    if (children.length > 2) {
      throw derFailure(SignatureErrorCode.DER_TRAILING_BYTES, 'the SEQUENCE holds more than r and s');
    }
    return { r: readDerScalar(children[0], 'r'), s: readDerScalar(children[1], 's') };
  } catch (error) {
    if (error instanceof DerError) throw derFailure(DER_PROBLEM_CODES[error.problem], error.message);
    throw error;
  }
}

function checkScalar(value: bigint, name: 'r' | 's', rules: ScalarPairRules): void {
  if (value === 0n) {
    throw new SignatureError(SignatureErrorCode.SCALAR_ZERO, `the ${rules.algorithmName} signature's ${name} is 0; it is not a valid signature`);
  }
  if (value >= rules.order) {
    throw new SignatureError(
      SignatureErrorCode.SCALAR_OUT_OF_RANGE,
      `the ${rules.algorithmName} signature's ${name} is not below the curve order n; it is not a valid signature`,
    );
  }
}

/**
 * Decodes an (r, s) signature (SM2, ECDSA): DER as OpenSSL writes it, or raw r‖s of exactly 2 × scalarLength
 * bytes; binary or hex. A raw-length input is read as DER only if it parses as strict DER.
 */
export function decodeScalarPairSignature(file: Uint8Array, rules: ScalarPairRules): DecodedSignature {
  const { bytes, transport } = readSignatureFile(file);
  const rawLength = 2 * rules.scalarLength;
  let scalars: { r: bigint; s: bigint } | undefined;
  let encoding: SignatureEncoding;
  if (bytes.length === rawLength) {
    encoding = 'raw';
    if (bytes[0] === DerTag.SEQUENCE && bytes[1] === rawLength - 2) {
      try {
        scalars = readDerSignature(bytes);
        encoding = 'der';
      } catch {
        scalars = undefined;
      }
    }
    scalars ??= {
      r: bytesToBigint(bytes.subarray(0, rules.scalarLength)),
      s: bytesToBigint(bytes.subarray(rules.scalarLength)),
    };
  } else if (bytes[0] === DerTag.SEQUENCE) {
    encoding = 'der';
    scalars = readDerSignature(bytes);
  } else {
    throw new SignatureError(
      SignatureErrorCode.RAW_WRONG_LENGTH,
      `the ${rules.algorithmName} signature is ${bytes.length} bytes and not DER; give DER (as OpenSSL writes it) or raw r‖s of exactly ${rawLength} bytes`,
    );
  }
  checkScalar(scalars.r, 'r', rules);
  checkScalar(scalars.s, 's', rules);
  return {
    transport,
    encoding,
    raw: concatBytes(bigintToBytes(scalars.r, rules.scalarLength), bigintToBytes(scalars.s, rules.scalarLength)),
  };
}

/** Decodes a signature that only exists as fixed-length bytes (Ed25519: 64), binary or hex. */
export function decodeFixedLengthSignature(file: Uint8Array, length: number, algorithmName: string): DecodedSignature {
  const { bytes, transport } = readSignatureFile(file);
  if (bytes.length !== length) {
    throw new SignatureError(
      SignatureErrorCode.RAW_WRONG_LENGTH,
      `the ${algorithmName} signature is ${bytes.length} bytes; an ${algorithmName} signature is exactly ${length} bytes (there is no DER form)`,
    );
  }
  return { transport, encoding: 'raw', raw: bytes };
}
