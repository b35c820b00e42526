import { createHash } from 'node:crypto';

export const API_TOKEN_PREFIX = 'hp_';

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
