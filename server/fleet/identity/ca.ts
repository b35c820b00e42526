import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../secrets-at-rest';
import { importPrivateKeyPem, newKeyPair, newSerial, P256, privateKeyPem, x509 } from './x509';

// The console's small certificate authority for host identity (docs/fleet.md#host-identity). Its certificate and
// key live in one file (0600 in a 0700 folder); replicas point HOTPLANE_FLEET_CA_FILE at the same secret mount.

const CA_YEARS = 10;
const CLOCK_SKEW_MS = 5 * 60_000;
export const DEFAULT_HOST_CERT_HOURS = 24;

export interface FleetCa {
  certificate: x509.X509Certificate;
  certificatePem: string;
  trustDomain: string;
  signingKey: CryptoKey;
}

export interface IssuedCertificate {
  serial: string;
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

export const hostSpiffeId = (trustDomain: string, hostId: string) => `spiffe://${trustDomain}/host/${hostId}`;

/** The host id a certificate's URI SAN names in this trust domain, or null. */
export function hostIdOfSan(subjectAltName: string | undefined, trustDomain: string): string | null {
  const prefix = `URI:spiffe://${trustDomain}/host/`;
  const uris = (subjectAltName ?? '').split(/,\s*/).filter((entry) => entry.startsWith(prefix));
  if (uris.length !== 1) return null;
  const id = uris[0].slice(prefix.length);
  return /^[a-z0-9][a-z0-9-]{0,62}$/.test(id) ? id : null;
}

function parseCaFile(text: string, trustDomain: string): Promise<FleetCa> {
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  if (!certificatePem) throw new Error('the fleet CA file holds no certificate');
  return importPrivateKeyPem(text).then((signingKey) => ({ certificate: new x509.X509Certificate(certificatePem), certificatePem, trustDomain, signingKey }));
}

async function newCaFileText(trustDomain: string): Promise<string> {
  const keys = await newKeyPair();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=Hotplane fleet CA ${trustDomain}`,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + CA_YEARS * 365 * 86_400_000),
    keys,
    signingAlgorithm: P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return `${certificate.toString('pem')}\n${await privateKeyPem(keys.privateKey)}`;
}

/**
 * Loads the CA from its file, creating it on first start. Creation is a hard link of a finished temp file, which
 * fails if the file exists: two replicas starting together on a shared mount end with one CA, not two.
 */
export async function loadOrCreateFleetCa(file: string, trustDomain: string): Promise<FleetCa> {
  ensurePrivateDir(path.dirname(file));
  let text = readFileSafe(file);
  if (!text) {
    const temp = `${file}.tmp-${process.pid}`;
    writeFileSync(temp, await newCaFileText(trustDomain), { mode: PRIVATE_FILE_MODE });
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temp);
    }
    text = readFileSync(file, 'utf8');
  }
  return parseCaFile(text, trustDomain);
}

function readFileSafe(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function issue(ca: FleetCa, options: { publicKey: CryptoKey | x509.PublicKey; commonName: string; hours: number; extensions: x509.Extension[] }): Promise<IssuedCertificate> {
  const now = Date.now();
  const notBefore = new Date(now - CLOCK_SKEW_MS);
  const notAfter = new Date(now + options.hours * 3_600_000);
  const serial = newSerial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${options.commonName}`,
    issuer: ca.certificate.subject,
    notBefore,
    notAfter,
    publicKey: options.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      ...options.extensions,
    ],
  });
  // X.509 times have whole seconds: the row keeps what the certificate says.
  return { serial, pem: certificate.toString('pem'), notBefore: certificate.notBefore, notAfter: certificate.notAfter };
}

/**
 * A client certificate for `hostId` on the key of a CSR whose signature holds. The CSR's subject and extensions are
 * ignored: the console alone decides the name (CN and URI SAN from the join token or the renewing certificate).
 */
export async function issueHostCertificate(ca: FleetCa, hostId: string, csrPem: string, hours = DEFAULT_HOST_CERT_HOURS): Promise<IssuedCertificate> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new CsrRefusal('the CSR is not a PEM or DER PKCS#10 certificate request');
  }
  if (!(await csr.verify().catch(() => false))) throw new CsrRefusal('the CSR signature does not verify against its own key: send a CSR signed by the key it certifies');
  const algorithm = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') throw new CsrRefusal(`the CSR's key is ${algorithm.name} ${algorithm.namedCurve ?? ''}; hosts use ECDSA P-256 keys`);
  return issue(ca, {
    publicKey: csr.publicKey,
    commonName: hostId,
    hours,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: hostSpiffeId(ca.trustDomain, hostId) }], false),
    ],
  });
}

/** The fleet listener's own certificate, from the same CA, for the names hosts dial. */
export async function issueServerCertificate(ca: FleetCa, names: string[], hours = 24 * 365): Promise<IssuedCertificate & { keyPem: string }> {
  const keys = await newKeyPair();
  const entries = names.map((name) => (/^[\d.]+$|:/.test(name) ? { type: 'ip' as const, value: name } : { type: 'dns' as const, value: name }));
  const issued = await issue(ca, {
    publicKey: keys.publicKey,
    commonName: names[0] ?? 'hotplane-fleet',
    hours,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false), new x509.SubjectAlternativeNameExtension(entries, false)],
  });
  return { ...issued, keyPem: await privateKeyPem(keys.privateKey) };
}

export class CsrRefusal extends Error {}
