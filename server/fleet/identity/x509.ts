import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// ECDSA P-256 with SHA-256 throughout: node:tls (OpenSSL without the GB/T 38636 TLCP suites) cannot serve or verify
// SM2 certificates in a TLS handshake, so the fleet's transport identity uses the curve every TLS stack speaks.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle as unknown as SubtleCrypto;
export const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error('no PKCS#8 private key (-----BEGIN PRIVATE KEY-----) in the file');
  return subtle.importKey('pkcs8', Buffer.from(match[1].replace(/\s+/g, ''), 'base64'), P256, false, ['sign']);
}

/**
 * A random positive 128-bit serial whose first byte is 0x10-0x7f, so its hex has no leading zero and no sign byte:
 * the string stored is exactly what node:tls shows as a peer certificate's serialNumber.
 */
export function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + (bytes[0] % 0x70);
  return bytes.toString('hex').toUpperCase();
}

/** A CSR signed by a fresh key: the host's side of enrolment and renewal. The subject is a courtesy; the console ignores it. */
export async function certificateRequestPem(keys: CryptoKeyPair, commonName: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys, signingAlgorithm: P256 });
  return csr.toString('pem');
}
