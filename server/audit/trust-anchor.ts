// Which console key a verification trusts, and why. A key read from the data folder proves nothing: whoever
// can write that folder can replace it and re-sign everything. An anchor comes from outside: a public key
// file the auditor keeps, a fingerprint they pinned, or the PKCS#11 token that holds the key itself.
import { readFileSync } from 'node:fs';
import { parsePublicKey, type ParsedPublicKey } from '../crypto/keys';
import { config } from '../config';
import { readConsolePublicKey } from './console-key';
import { consoleSigner } from './signing/console-signer';

export type TrustAnchorKind = 'public-key' | 'fingerprint' | 'pkcs11-token' | 'unanchored';

export interface TrustAnchor {
  kind: TrustAnchorKind;
  key: ParsedPublicKey;
  /** Where the key came from, for the report. */
  source: string;
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

/** Accepts the fingerprint as printed (groups of four, colons, any case). */
export function normaliseFingerprint(text: string): string {
  const fingerprint = text.replace(/[\s:]/g, '').toLowerCase();
  if (!FINGERPRINT.test(fingerprint)) {
    throw new Error(`the pinned fingerprint ${text} is not 64 hex digits (the SM3 fingerprint hotplane audit verify prints)`);
  }
  return fingerprint;
}

export interface TrustAnchorOptions {
  /** --public-key FILE */
  publicKeyFile?: string;
  /** --fingerprint HEX */
  fingerprint?: string;
}

// Without an explicit key: the token's key when the console signs on a token (the token lives outside the data
// folder), else the public key file in the data folder, which is the unanchored case.
function consoleKeyCandidate(): TrustAnchor {
  const settings = config();
  if (settings.auditPkcs11) {
    const signer = consoleSigner();
    return { kind: 'pkcs11-token', key: signer.publicKey, source: signer.description };
  }
  return { kind: 'unanchored', key: readConsolePublicKey(settings.consoleKeyFile), source: `${settings.consoleKeyFile} (in the data folder)` };
}

export function resolveTrustAnchor(options: TrustAnchorOptions): TrustAnchor {
  const pinned = options.fingerprint === undefined ? undefined : normaliseFingerprint(options.fingerprint);
  const anchor: TrustAnchor = options.publicKeyFile
    ? { kind: 'public-key', key: parsePublicKey(readFileSync(options.publicKeyFile, 'utf8')), source: options.publicKeyFile }
    : consoleKeyCandidate();
  if (pinned === undefined) return anchor;
  if (anchor.key.fingerprint !== pinned) {
    throw new Error(
      `the console key from ${anchor.source} has fingerprint ${anchor.key.fingerprint}, not the pinned ${pinned}: ` +
        'it was replaced, or this is another console; do not trust checkpoints signed by it',
    );
  }
  return anchor.kind === 'unanchored' ? { ...anchor, kind: 'fingerprint' } : anchor;
}
