import { createHash, randomBytes } from 'node:crypto';

// Host tokens carry their own prefix so they can never be mistaken for a person's API token (hp_…): the
// session resolver ignores them, so a host token cannot call tRPC, and a person's token cannot pull state.
export const HOST_TOKEN_PREFIX = 'hph_';

export function newHostToken(): string {
  return `${HOST_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashHostToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function hostTokenFromHeaders(headers: Headers): string | null {
  const authorization = headers.get('authorization');
  if (!authorization?.startsWith(`Bearer ${HOST_TOKEN_PREFIX}`)) return null;
  return authorization.slice('Bearer '.length).trim();
}
