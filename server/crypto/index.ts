// The server's public surface of server/crypto in one import. Node-only (digest.ts, keys.ts); browser code
// imports the pure modules directly (sm2.ts, sm2-keys.ts, fingerprint.ts, signatures.ts).
export { createArtifactDigester, digestArtifactFile, digestArtifactStream, sha256Hex, sm3Hex } from './digest.ts';
export type { ArtifactDigest, ArtifactDigester } from './digest.ts';
export { KeyError, KeyErrorCode, SignatureError, SignatureErrorCode } from './errors.ts';
export { formatFingerprint, parsePublicKey } from './keys.ts';
export type { KeyAlgorithm, ParsedPublicKey } from './keys.ts';
export type { DecodedSignature, SignatureEncoding, SignatureTransport } from './signature-encoding.ts';
export { registerSignatureAlgorithm, registeredSignatureAlgorithms, verifySignature } from './signatures.ts';
export type { SignatureVerification, SignatureVerifier } from './signatures.ts';
export { SM2_DEFAULT_USER_ID } from './sm2-curve.ts';
export { generateSm2KeyPair, signSm2, sm2PublicKeyFromPrivate } from './sm2.ts';
export type { Sm2KeyPair } from './sm2.ts';
