import { readFile } from 'node:fs/promises';

// A browser's-eye client of the console over HTTP: one client address (X-Forwarded-For), one session cookie,
// tRPC calls in the wire format the console's own client uses (no transformer), and the upload route.

export interface Answer {
  status: number;
  /** tRPC's error code ("FORBIDDEN", …) when the answer is a tRPC error. */
  code?: string;
  message?: string;
  data?: unknown;
  headers: Headers;
}

export interface ArtifactFiles {
  so: Uint8Array<ArrayBuffer>;
  manifest: Uint8Array;
  signature: Uint8Array;
}

export async function readArtifact(soPath: string): Promise<ArtifactFiles> {
  return { so: await readFile(soPath), manifest: await readFile(`${soPath}.manifest.json`), signature: await readFile(`${soPath}.manifest.sig`) };
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: { result?: { data?: unknown }; error?: { message?: string; data?: { code?: string } }; message?: string } | null = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return {
    status: response.status,
    code: json?.error?.data?.code,
    message: json?.error?.message ?? json?.message ?? (json ? undefined : text.slice(0, 200)),
    data: json?.result?.data ?? json,
    headers: response.headers,
  };
}

export class ConsoleClient {
  cookie: string | null = null;

  constructor(
    readonly origin: string,
    /** The client address the console sees; distinct per case so each stays clear of the others' login limit. */
    readonly address: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'x-forwarded-for': this.address, origin: this.origin, ...(this.cookie ? { cookie: this.cookie } : {}), ...extra };
  }

  async signIn(email: string, password: string): Promise<Answer> {
    const response = await fetch(`${this.origin}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ email, password }),
    });
    const session = response.headers.getSetCookie().find((c) => c.startsWith('better-auth.session_token='));
    if (session) this.cookie = session.split(';')[0];
    return answerOf(response);
  }

  async signOut(): Promise<Answer> {
    return answerOf(await fetch(`${this.origin}/api/auth/sign-out`, { method: 'POST', headers: this.headers({ 'content-type': 'application/json' }), body: '{}' }));
  }

  async query(procedure: string, input?: unknown): Promise<Answer> {
    const search = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return answerOf(await fetch(`${this.origin}/api/trpc/${procedure}${search}`, { headers: this.headers() }));
  }

  /** `origin` overrides the Origin header, as a page on another site would send it. */
  async mutate(procedure: string, input: unknown, options: { origin?: string } = {}): Promise<Answer> {
    return answerOf(
      await fetch(`${this.origin}/api/trpc/${procedure}`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json', ...(options.origin ? { origin: options.origin } : {}) }),
        body: JSON.stringify(input),
      }),
    );
  }

  /** The upload page's request: the .so as the body, manifest and signature base64 in headers; `soName` goes as given (percent-encoded). */
  async upload(files: ArtifactFiles, options: { soName: string; origin?: string; body?: Uint8Array<ArrayBuffer>; headers?: Record<string, string> }): Promise<Answer> {
    return answerOf(
      await fetch(`${this.origin}/api/artifacts`, {
        method: 'POST',
        headers: this.headers({
          'content-type': 'application/octet-stream',
          'x-hotplane-file-name': options.soName,
          'x-hotplane-manifest': Buffer.from(files.manifest).toString('base64'),
          'x-hotplane-signature': Buffer.from(files.signature).toString('base64'),
          ...(options.origin ? { origin: options.origin } : {}),
          ...options.headers,
        }),
        body: options.body ?? files.so,
      }),
    );
  }
}

