import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CHECK_TITLES, type CheckResult } from '../artifacts/checks';
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES } from '../artifacts/side-file-limits';
import { parseCommandArgs } from './args';
import { apiToken, refuseTokenInArgv } from './console-client';

// Streams the .so to the console's upload endpoint (the same pipeline as the upload page).
export async function pushCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(
    args,
    { manifest: { type: 'string' }, sig: { type: 'string' }, console: { type: 'string' }, 'token-file': { type: 'string' } },
    1,
  );
  const so = positionals[0];
  const manifestPath = values.manifest ?? `${so}.manifest.json`;
  const signaturePath = values.sig ?? `${so}.manifest.sig`;
  const consoleUrl = values.console ?? process.env.HOTPLANE_URL ?? 'http://localhost:3000';
  const token = await apiToken(values['token-file']);
  const size = (await stat(so)).size;
  const response = await fetch(new URL('/api/artifacts', consoleUrl), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'content-length': String(size),
      'x-hotplane-file-name': encodeURIComponent(path.basename(so)),
      'x-hotplane-manifest-name': encodeURIComponent(path.basename(manifestPath)),
      'x-hotplane-signature-name': encodeURIComponent(path.basename(signaturePath)),
      'x-hotplane-manifest': (await readFile(manifestPath)).toString('base64'),
      'x-hotplane-signature': (await readFile(signaturePath)).toString('base64'),
    },
    body: Readable.toWeb(createReadStream(so)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  // Node answers this itself, before the console's route sees the request, so there is no report to show.
  if (response.status === 431) {
    throw new Error(
      'the console refused the request headers as too large (HTTP 431): the manifest and signature travel in headers, ' +
        `and may be at most ${MAX_MANIFEST_BYTES} and ${MAX_SIGNATURE_BYTES} bytes; check that --manifest and --sig name the right files`,
    );
  }
  const body = (await response.json().catch(() => null)) as { outcome?: string; message?: string; checks?: CheckResult[] } | null;
  if (!body) throw new Error(`the console answered HTTP ${response.status} without a report`);
  for (const c of body.checks ?? []) console.log(`${c.status.toUpperCase().padEnd(4)}  ${CHECK_TITLES[c.check].padEnd(44)} ${c.detail}`);
  console.log(`\n${body.outcome ?? `HTTP ${response.status}`}: ${body.message}`);
  return response.ok ? 0 : 1;
}
