import { readFile, stat } from 'node:fs/promises';

// A join token is a credential: on a command line every local user can read it (`ps`, /proc/<pid>/cmdline). It
// comes from a file only its owner can read, or from HOTPLANE_JOIN_TOKEN.

export const JOIN_TOKEN_ENV = 'HOTPLANE_JOIN_TOKEN';

/** A usage error for a secret flag on the command line, or null. */
export function tokenOnCommandLine(args: readonly string[]): string | null {
  const flag = args.find((arg) => /^--(join-)?token(=|$)/.test(arg));
  if (!flag) return null;
  return `${flag.split('=')[0]} puts a secret on the command line, where any local user can read it (ps, /proc/<pid>/cmdline): write the join token to a file only you can read (chmod 600 FILE) and pass --join-token-file FILE, or set ${JOIN_TOKEN_ENV}`;
}

/** Refuses a file group or others may read or write: the token in it is as good as published (join and metrics tokens). */
export async function readTokenFile(file: string, flag = '--join-token-file', what = 'the join token the console showed at registration'): Promise<string> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${flag} ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  if (!info.isFile()) throw new Error(`${flag} ${file} is not a regular file`);
  const mode = info.mode & 0o777;
  if (mode & 0o077) {
    throw new Error(`${flag} ${file} can be read or written by others (mode ${mode.toString(8).padStart(4, '0')}): run chmod 600 ${file}`);
  }
  const token = (await readFile(file, 'utf8')).trim();
  if (!token) throw new Error(`${flag} ${file} is empty: put ${what} in it`);
  return token;
}

/**
 * How the join token is found when the host needs one (only when it has no valid certificate): from
 * --join-token-file, else from HOTPLANE_JOIN_TOKEN (removed from this process's environment at once, so nothing
 * this process starts inherits it), else null.
 */
export function joinTokenSource(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): () => Promise<string | null> {
  const fromEnv = env[JOIN_TOKEN_ENV]?.trim();
  delete env[JOIN_TOKEN_ENV];
  return async () => (tokenFile ? readTokenFile(tokenFile) : fromEnv || null);
}

// A scraper's token for /metrics: from a file (0600) or HOTPLANE_HOST_METRICS_TOKEN, never from the command line.
export async function metricsToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const fromEnv = env.HOTPLANE_HOST_METRICS_TOKEN?.trim();
  delete env.HOTPLANE_HOST_METRICS_TOKEN;
  if (file) return readTokenFile(file, '--metrics-token-file', 'the token your scraper sends');
  return fromEnv || null;
}
