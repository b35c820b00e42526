import { createHash, randomBytes } from 'node:crypto';

// Join tokens carry their own prefix so they can never be mistaken for a person's API token (hp_…): the session
// resolver ignores them, and they are good for one thing only, one enrolment at the fleet listener.
export const JOIN_TOKEN_PREFIX = 'hpj_';

export function newJoinToken(): string {
  return `${JOIN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashJoinToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
