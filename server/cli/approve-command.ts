import { readFile } from 'node:fs/promises';
import { signSm2, sm3Hex } from '../crypto';
import { approvalMessage } from '../rollout/digest';
import { parseCommandArgs, requireOption } from './args';
import { apiToken, fetchWithDeadline, refuseTokenInArgv } from './console-client';

// `hotplane approve <id> --key key.pem`: fetches what the change request says, checks that its digest really is
// the SM3 of the text shown (so the console cannot have you sign something else), signs the digest locally and
// submits the signature. The private key never leaves this machine.

interface ToSign {
  id: string;
  revision: number;
  state: string;
  module: string;
  from: string;
  to: string;
  digest: string;
  canonicalText: string;
}

async function trpc<T>(consoleUrl: string, token: string, procedure: string, input: unknown, method: 'GET' | 'POST'): Promise<T> {
  const url = new URL(`/api/trpc/${procedure}`, consoleUrl);
  if (method === 'GET') url.searchParams.set('input', JSON.stringify(input));
  const response = await fetchWithDeadline(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? JSON.stringify(input) : undefined,
  });
  const body = (await response.json().catch(() => null)) as { result?: { data: T }; error?: { message: string } } | null;
  if (!body) throw new Error(`the console answered HTTP ${response.status} without JSON; is ${consoleUrl} a Hotplane console?`);
  if (body.error) throw new Error(body.error.message);
  return body.result!.data;
}

export async function approveCommand(args: string[]) {
  refuseTokenInArgv(args);
  const { values, positionals } = parseCommandArgs(args, { key: { type: 'string' }, console: { type: 'string' }, 'token-file': { type: 'string' } }, 1);
  const keyFile = requireOption(values, 'key');
  const consoleUrl = values.console ?? process.env.HOTPLANE_URL ?? 'http://localhost:3000';
  const token = await apiToken(values['token-file']);
  const privateKey = await readFile(keyFile, 'utf8');
  const request = await trpc<ToSign>(consoleUrl, token, 'rollouts.changes.digest', { id: positionals[0] }, 'GET');
  if (sm3Hex(request.canonicalText) !== request.digest) {
    throw new Error(`the console's digest ${request.digest} is not the SM3 of the request text it sent; nothing was signed`);
  }
  console.log(`${request.id} (revision ${request.revision}, ${request.state}): ${request.module} ${request.from} → ${request.to}`);
  console.log(`signing the digest ${request.digest} of:\n${request.canonicalText}\n`);
  const signature = Buffer.from(signSm2(approvalMessage(request.digest), privateKey)).toString('hex');
  const result = await trpc<{ approvals: number; required: number; approved: boolean }>(consoleUrl, token, 'rollouts.changes.approve', { id: request.id, digest: request.digest, signature }, 'POST');
  console.log(`approved: ${result.approvals} of ${result.required} approval(s)${result.approved ? '; the change may start' : ''}`);
  return 0;
}
