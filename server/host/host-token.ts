import { readFile, stat } from 'node:fs/promises';

// The host token is a credential: on a command line every local user can read it (`ps`, /proc/<pid>/cmdline). It
// comes from a file only its owner can read, or from HOTPLANE_HOST_TOKEN, until host certificates replace it.

export const HOST_TOKEN_ENV = 'HOTPLANE_HOST_TOKEN';

/** A usage error for `--token` on the command line, or null. */
export function tokenOnCommandLine(args: readonly string[]): string | null {
  const flag = args.find((arg) => arg === '--token' || arg.startsWith('--token='));
  if (!flag) return null;
  return '--token puts the host token on the command line, where any local user can read it (ps, /proc/<pid>/cmdline): write it to a file only you can read (chmod 600 FILE) and pass --token-file FILE, or set HOTPLANE_HOST_TOKEN';
}

/** Refuses a file group or others may read or write: the token in it is as good as published (host and metrics tokens). */
export async function readTokenFile(file: string, flag = '--token-file', what = 'the host token the console showed at registration'): Promise<string> {
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
 * The token from --token-file, else from HOTPLANE_HOST_TOKEN (removed from this process's environment once read, so
 * nothing this process starts inherits it), else null.
 */
export async function resolveHostToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const fromEnv = env[HOST_TOKEN_ENV]?.trim();
  delete env[HOST_TOKEN_ENV];
  if (tokenFile) return readTokenFile(tokenFile);
  return fromEnv || null;
}

// A scraper's token for /metrics: from a file (0600) or HOTPLANE_HOST_METRICS_TOKEN, never from the command line.
export async function metricsToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const fromEnv = env.HOTPLANE_HOST_METRICS_TOKEN?.trim();
  delete env.HOTPLANE_HOST_METRICS_TOKEN;
  if (file) return readTokenFile(file, '--metrics-token-file', 'the token your scraper sends');
  return fromEnv || null;
}
