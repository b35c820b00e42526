// The console's SM2 key file: the signer when no PKCS#11 token is configured (server/audit/signing/), and the key
// of checkpoints written before the move to a token. The private key never leaves its 0600 file; the
// public key is written beside it so that read-only tools (`hotplane audit verify`) need no access to the secret.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parsePublicKey, type ParsedPublicKey } from '../crypto/keys';
import { generateSm2KeyPair, sm2PublicKeyFromPrivate } from '../crypto/sm2';
import { mkdirPrivate } from '../secrets-at-rest';

export interface ConsoleKey {
  keyFile: string;
  privateKeyPem: string;
  publicKey: ParsedPublicKey;
}

/** console-key.pem → console-key.pub.pem */
export function consolePublicKeyFile(keyFile: string): string {
  const { dir, name, ext } = path.parse(keyFile);
  return path.join(dir, `${ext === '.pem' ? name : `${name}${ext}`}.pub.pem`);
}

function hasCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException).code === code;
}

function createKeyFile(keyFile: string): void {
  mkdirPrivate(path.dirname(keyFile));
  const pair = generateSm2KeyPair();
  try {
    // 'wx' fails when another process created the key first; its key is then the one to use.
    writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!hasCode(error, 'EEXIST')) throw error;
  }
}

function readPrivateKey(keyFile: string): string {
  const mode = statSync(keyFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `the console key ${keyFile} is readable by other users (mode ${mode.toString(8)}); ` +
        `anyone who reads it can forge audit checkpoints. Run chmod 600 ${keyFile}`,
    );
  }
  return readFileSync(keyFile, 'utf8');
}

/** Loads the console key, creating it (mode 0600) on first use, and keeps the public key file beside it current. */
export function loadOrCreateConsoleKey(keyFile: string): ConsoleKey {
  try {
    statSync(keyFile);
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
    createKeyFile(keyFile);
  }
  const privateKeyPem = readPrivateKey(keyFile);
  const publicKey = parsePublicKey(sm2PublicKeyFromPrivate(privateKeyPem));
  const publicKeyFile = consolePublicKeyFile(keyFile);
  let written: string | undefined;
  try {
    written = readFileSync(publicKeyFile, 'utf8');
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
  }
  if (written !== publicKey.pem) {
    writeFileSync(publicKeyFile, publicKey.pem, { mode: 0o644 });
    chmodSync(publicKeyFile, 0o644);
  }
  return { keyFile, privateKeyPem, publicKey };
}

/**
 * The console's public key for verification: the public key file beside the key, else derived from the
 * private key. An auditor should still compare its fingerprint with one recorded independently: whoever
 * can replace both files can re-sign everything.
 */
export function readConsolePublicKey(keyFile: string): ParsedPublicKey {
  try {
    return parsePublicKey(readFileSync(consolePublicKeyFile(keyFile), 'utf8'));
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
  }
  try {
    return parsePublicKey(sm2PublicKeyFromPrivate(readPrivateKey(keyFile)));
  } catch (error) {
    if (hasCode(error, 'ENOENT')) {
      throw new Error(`no console key at ${keyFile} (nor ${consolePublicKeyFile(keyFile)}): the console has not signed any checkpoint here yet`);
    }
    throw error;
  }
}
