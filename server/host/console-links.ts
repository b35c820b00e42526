// The consoles a host may talk to, in the order given (`--console https://a,https://b`). The agent stays with the
// one that answered last (sticky) and moves to the next after a connection failure or a 5xx; once every console has
// failed in a row it backs off, doubling up to MAX_BACKOFF_MS, so a fleet whose consoles are all down does not
// hammer them when they return.

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/** What the agent needs of a request function: the global fetch, or a transport with a client certificate. */
export type FetchLike = (url: URL, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<Response>;

/** Thrown for an answer that says this console cannot serve now (5xx) or for no answer at all. */
export class ConsoleUnavailable extends Error {}

export class ConsoleLinks {
  private readonly urls: readonly string[];
  private index = 0;
  private failuresInARow = 0;

  constructor(urls: string | readonly string[]) {
    this.urls = (typeof urls === 'string' ? [urls] : urls).flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);
    if (this.urls.length === 0) throw new Error('no console URL: pass --console https://console:port (several separated by commas)');
    for (const url of this.urls) {
      const parsed = URL.canParse(url) ? new URL(url) : null;
      if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new Error(`console URL "${url}" is not an http(s) URL: pass e.g. https://console.example:7443`);
    }
  }

  get current(): string {
    return this.urls[this.index];
  }

  get all(): readonly string[] {
    return this.urls;
  }

  /** The wait before the next attempt: none while an untried console is left, then a growing back-off. */
  get backoffMs(): number {
    if (this.failuresInARow < this.urls.length) return 0;
    const rounds = Math.floor(this.failuresInARow / this.urls.length) - 1;
    return Math.min(FIRST_BACKOFF_MS * 2 ** rounds, MAX_BACKOFF_MS);
  }

  /** Sends to the current console (`what` names the request in errors); a failure moves on to the next one and is thrown to the caller. */
  async request(fetcher: FetchLike, what: string, pathAndQuery: string, init: Parameters<FetchLike>[1] = {}): Promise<Response> {
    const base = this.current;
    let response: Response;
    try {
      response = await fetcher(new URL(pathAndQuery, base), init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      this.failed(base);
      throw new ConsoleUnavailable(`${what}: ${base} ${describe(error)}`);
    }
    if (response.status >= 500) {
      const said = await saying(response);
      this.failed(base);
      throw new ConsoleUnavailable(`${what}: HTTP ${response.status}${said}`);
    }
    this.failuresInARow = 0;
    return response;
  }

  private failed(base: string) {
    this.failuresInARow += 1;
    // Another request may already have moved on from this console.
    if (this.current === base) this.index = (this.index + 1) % this.urls.length;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

/** What a refusal from the console says (its JSON `message`), for the log: ", the database is locked…". */
export async function saying(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { message?: unknown } | null;
  return typeof body?.message === 'string' ? `, ${body.message}` : '';
}
