// Modes of what the console keeps on disk: its data folder is 0700 and every file in it that holds a secret or
// the database (with SQLite's -wal and -shm, which hold recent pages) is 0600, so another user of the machine —
// the runtime host runs as one when the console runs as root, and cells as nobody — cannot read any of it.
// Applied where each file is created, and again to an existing folder at every start (an older install, a copy
// restored with the wrong umask).
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates the folder 0700 if it is missing. Only the folder itself is private: parents it has to create get the
 * ordinary mode, because `mkdir -p` with a mode would make them 0700 too and lock out the host's own user (nobody),
 * which must still reach its folder beside ours.
 */
export function mkdirPrivate(dir: string): void {
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Creates the folder 0700 or narrows an existing one to 0700: only for a folder of our own. */
export function ensurePrivateDir(dir: string): void {
  mkdirPrivate(dir);
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates an empty 0600 file if there is none, so whatever opens it next never creates it readable by others. */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}

export interface ConsoleFiles {
  dataDir: string;
  /** The SQLite file; null for a database server. */
  databaseFile: string | null;
  consoleKeyFile: string;
  /** The PKCS#11 PIN file, kept outside the data folder (its own checks are in audit/signing/). */
  pinFile?: string;
}

export function consoleFilesOf(settings: { dataDir: string; databaseUrl: string; consoleKeyFile: string; auditPkcs11?: { pinFile?: string } | null }): ConsoleFiles {
  const databaseFile = settings.databaseUrl.startsWith('file:') ? path.resolve(settings.databaseUrl.slice('file:'.length)) : null;
  return { dataDir: settings.dataDir, databaseFile, consoleKeyFile: settings.consoleKeyFile, pinFile: settings.auditPkcs11?.pinFile };
}

/** The files of the console that nobody else may read: the database and its journals, the auth secret, the key(s). */
export function consoleSecretFiles(settings: ConsoleFiles): string[] {
  const database = settings.databaseFile ? [settings.databaseFile, `${settings.databaseFile}-wal`, `${settings.databaseFile}-shm`] : [];
  return [...database, path.join(settings.dataDir, 'auth-secret'), settings.consoleKeyFile, ...(settings.pinFile ? [settings.pinFile] : [])];
}

/** Narrows the data folder to 0700 and each existing secret file to 0600; returns what it had to fix. */
export function secureConsoleFiles(settings: ConsoleFiles): string[] {
  const fixed: string[] = [];
  const narrow = (target: string, mode: number) => {
    let current: number;
    try {
      current = statSync(target).mode & 0o777;
    } catch {
      return;
    }
    if (current === mode) return;
    chmodSync(target, mode);
    fixed.push(`${target} ${current.toString(8)} → ${mode.toString(8)}`);
  };
  mkdirPrivate(settings.dataDir);
  narrow(settings.dataDir, PRIVATE_DIR_MODE);
  for (const file of consoleSecretFiles(settings)) narrow(file, PRIVATE_FILE_MODE);
  return fixed;
}
