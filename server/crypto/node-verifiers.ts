// Ed25519 and ECDSA P-256 through node:crypto, registered beside SM2 when this module loads (keys.ts imports it).
import { createPublicKey, verify } from 'node:crypto';
import { decodeFixedLengthSignature, decodeScalarPairSignature } from './signature-encoding.ts';
import { registerSignatureAlgorithm, type SignatureVerifier } from './signatures.ts';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ED25519_SIGNATURE_LENGTH = 64;

export const ed25519Verifier: SignatureVerifier = {
  algorithm: 'ed25519',
  displayName: 'Ed25519',
  decode: (signatureFile) => decodeFixedLengthSignature(signatureFile, ED25519_SIGNATURE_LENGTH, 'Ed25519'),
  verify: (message, signature, key) =>
    verify(null, message, createPublicKey({ key: key.spkiDer, format: 'der', type: 'spki' }), signature.raw),
};

export const ecdsaP256Verifier: SignatureVerifier = {
  algorithm: 'ecdsa-p256',
  displayName: 'ECDSA P-256',
  decode: (signatureFile) => decodeScalarPairSignature(signatureFile, { algorithmName: 'ECDSA P-256', order: P256_ORDER, scalarLength: 32 }),
  verify: (message, signature, key) =>
    verify(
      'sha256',
      message,
      { key: createPublicKey({ key: key.spkiDer, format: 'der', type: 'spki' }), dsaEncoding: 'ieee-p1363' },
      signature.raw,
    ),
  mismatchHint: 'ECDSA P-256 signatures are over SHA-256 of the bytes (openssl dgst -sha256 -sign key.pem -out file.sig file)',
};

registerSignatureAlgorithm(ed25519Verifier);
registerSignatureAlgorithm(ecdsaP256Verifier);
