// PEM armour (RFC 7468) for keys. Pure: uses atob/btoa, which browsers and Node both have.
import { KeyError, KeyErrorCode } from './errors.ts';

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN ');
}

/** Reads the single PEM block in `text`; only whitespace may surround it. */
export function readPem(text: string): PemBlock {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new KeyError(KeyErrorCode.PEM_MALFORMED, 'PEM text has a "-----BEGIN" line but no matching "-----END" line');
  }
  if (blocks.length > 1) {
    throw new KeyError(KeyErrorCode.PEM_MALFORMED, `found ${blocks.length} PEM blocks; give exactly one key`);
  }
  const [whole, label, body, endLabel] = blocks[0];
  if (label !== endLabel) {
    throw new KeyError(KeyErrorCode.PEM_MALFORMED, `PEM block begins "${label}" but ends "${endLabel}"`);
  }
  if (text.replace(whole, '').trim() !== '') {
    throw new KeyError(KeyErrorCode.PEM_MALFORMED, 'text outside the PEM block; give only the -----BEGIN ... -----END block');
  }
  if (body.includes(':')) {
    // RFC 1421 headers (Proc-Type: 4,ENCRYPTED / DEK-Info) mean a legacy passphrase-encrypted key.
    throw new KeyError(
      KeyErrorCode.ENCRYPTED_PRIVATE_KEY,
      'the PEM key is encrypted with a passphrase; decrypt it first: openssl pkey -in key.pem -out plain.pem',
    );
  }
  const base64 = body.replace(/\s+/g, '');
  if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64_BODY.test(base64)) {
    throw new KeyError(KeyErrorCode.PEM_MALFORMED, `the body of the "${label}" PEM block is not valid base64`);
  }
  const binary = atob(base64);
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return { label, der };
}

/** 64-column base64, LF line ends and a final newline, as OpenSSL writes. */
export function writePem(label: string, der: Uint8Array): string {
  let binary = '';
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
