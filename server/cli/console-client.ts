import { readTokenFile } from '../host/host-token';
import { createTRPCClient, httpLink, isTRPCClientError } from '@trpc/client';
// eslint-disable-next-line import/no-restricted-paths -- a tRPC client takes the router's type (erased), never its code
import type { AppRouter } from '../api/root';
import { CliUsageError } from './args';

// What the pipeline commands share: the console and API token they talk to, the tRPC client, and the exit codes a
// CI job branches on.

export const EXIT = { done: 0, refused: 1, usage: 2, timedOut: 3 } as const;

/** The options every console command takes (besides its own). */
export const CONSOLE_OPTIONS = {
  console: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export const CONSOLE_HELP = `Console and token: --console URL (or HOTPLANE_URL; default http://localhost:3000); the API token (profile page)
from HOTPLANE_TOKEN, or --token-file FILE / HOTPLANE_TOKEN_FILE. Never on the command line: other users can read argv.
--json: one JSON document on stdout. Exit codes: 0 done, 1 refused / rejected / rolled back, 2 usage, 3 timed out.`;

/** A token in argv is visible to every user of the machine (ps, /proc): refused with where to put it instead. */
export function refuseTokenInArgv(args: string[]) {
  if (args.some((a) => a === '--token' || a.startsWith('--token='))) {
    throw new CliUsageError('--token is not taken on the command line (other users can read argv): set HOTPLANE_TOKEN or give --token-file FILE');
  }
}

/** The API token from HOTPLANE_TOKEN, or from a file only its owner can read (--token-file / HOTPLANE_TOKEN_FILE). */
export async function apiToken(tokenFile: string | undefined): Promise<string> {
  const file = tokenFile ?? process.env.HOTPLANE_TOKEN_FILE;
  if (file) {
    return readTokenFile(file, '--token-file', 'an API token from your console profile page').catch((error: Error) => {
      throw new CliUsageError(error.message);
    });
  }
  const token = process.env.HOTPLANE_TOKEN;
  if (!token) throw new CliUsageError('no API token: set HOTPLANE_TOKEN or give --token-file FILE (create a token on your console profile page)');
  return token;
}

export type ConsoleClient = ReturnType<typeof createTRPCClient<AppRouter>>;

/** A pipeline step must end: a console (or host) that takes the connection and never answers is a failure after this. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** Why a request got no answer, naming the deadline when that was it. */
export function unansweredReason(error: unknown, deadlineMs = REQUEST_TIMEOUT_MS): string {
  const cause = (error as { cause?: unknown }).cause;
  const timedOut = [error, cause].some((e) => e instanceof Error && e.name === 'TimeoutError');
  return timedOut ? `no answer within ${deadlineMs / 1000} s` : (error as Error).message;
}

/** fetch that gives up after `deadlineMs`, on top of whatever signal the caller passes. */
export function fetchWithin(deadlineMs: number): typeof fetch {
  return (input, init) => {
    const deadline = AbortSignal.timeout(deadlineMs);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
}

export const fetchWithDeadline = fetchWithin(REQUEST_TIMEOUT_MS);

export async function consoleClient(values: { console?: string; 'token-file'?: string }): Promise<ConsoleClient> {
  const token = await apiToken(values['token-file']);
  const base = values.console ?? process.env.HOTPLANE_URL ?? 'http://localhost:3000';
  let url: URL;
  try {
    url = new URL('/api/trpc', base);
  } catch {
    throw new CliUsageError(`--console ${base} is not a URL (e.g. https://console.example:3000)`);
  }
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: url.href, headers: { authorization: `Bearer ${token}` }, fetch: fetchWithDeadline })] });
}

/** Prints a result as one JSON document (--json) or as the text lines `text` gives. */
export function output(json: boolean, document: unknown, text: () => string[]) {
  if (json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else for (const line of text()) console.log(line);
}

/**
 * Runs one console command: a refusal from the console (a tRPC error: forbidden, conflict, bad input) exits 1 with
 * the console's words, as a JSON document with --json; usage errors pass through (exit 2).
 */
export async function consoleCommand(json: boolean, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    // A tRPC error without data never got an answer from the console: that is unreachable, not a refusal.
    const refusal = isTRPCClientError(error) && error.data ? { code: (error.data as { code?: string }).code ?? 'ERROR', message: error.message } : null;
    const message = refusal?.message ?? `the console could not be reached: ${unansweredReason(error)}`;
    if (json) output(true, { ok: false, error: { code: refusal?.code ?? 'UNREACHABLE', message } }, () => []);
    else console.error(message);
    return EXIT.refused;
  }
}

/** `--timeout` in seconds, or with an s/m/h suffix. */
export function parseTimeout(value: string | undefined, fallbackSeconds: number): number {
  if (value === undefined) return fallbackSeconds * 1000;
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!match) throw new CliUsageError(`--timeout ${value}: give seconds, or a number with s, m or h (e.g. 600, 10m)`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}

/**
 * Polls `read` until `done` says the value is final or the deadline passes; the interval doubles (to `maxMs`) while
 * nothing changes and starts again at `minMs` after a change, so a long hold costs the console little.
 */
export async function pollWithBackoff<T>(options: {
  read: () => Promise<T>;
  key: (value: T) => string;
  onChange: (value: T) => void;
  done: (value: T) => boolean;
  deadline: number;
  minMs?: number;
  maxMs?: number;
}): Promise<{ value: T; timedOut: boolean }> {
  const minMs = options.minMs ?? 500;
  const maxMs = options.maxMs ?? 5_000;
  let interval = minMs;
  let lastKey: string | null = null;
  for (;;) {
    const value = await options.read();
    const key = options.key(value);
    if (key !== lastKey) {
      lastKey = key;
      interval = minMs;
      options.onChange(value);
    } else {
      interval = Math.min(interval * 2, maxMs);
    }
    if (options.done(value)) return { value, timedOut: false };
    const left = options.deadline - Date.now();
    if (left <= 0) return { value, timedOut: true };
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, left)));
  }
}
