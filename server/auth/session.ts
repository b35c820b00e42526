import 'server-only';
import { auth } from './auth';
import { parseRoles, type Role } from './permissions';
import { db } from '../db/client';
import { API_TOKEN_PREFIX, hashApiToken } from './token-hash';
import type { AuditActor } from '../audit/actor';

export interface SessionUser {
  id: string;
  name: string;
  email: string;
  roles: Role[];
  via: 'cookie' | 'token';
}


async function userFromApiToken(token: string): Promise<SessionUser | null> {
  const row = await db().apiToken.findUnique({
    where: { tokenHash: hashApiToken(token) },
    include: { user: true },
  });
  if (!row || row.revokedAt || row.user.disabled) return null;
  await db().apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  return { id: row.user.id, name: row.user.name, email: row.user.email, roles: parseRoles(row.user.roles), via: 'token' };
}

// A request is authenticated by the session cookie (browser) or by a personal API token (CLI).
export async function resolveSessionUser(headers: Headers): Promise<SessionUser | null> {
  const authorization = headers.get('authorization');
  if (authorization?.startsWith(`Bearer ${API_TOKEN_PREFIX}`)) {
    return userFromApiToken(authorization.slice('Bearer '.length).trim());
  }
  const session = await auth().api.getSession({ headers });
  if (!session) return null;
  const user = await db().user.findUnique({ where: { id: session.user.id } });
  if (!user || user.disabled) return null;
  return { id: user.id, name: user.name, email: user.email, roles: parseRoles(user.roles), via: 'cookie' };
}

export function actorOf(user: SessionUser, keyFingerprint?: string): AuditActor {
  return { id: user.id, name: user.email, roles: user.roles, keyFingerprint };
}

// Cookie-authenticated mutations must come from the console's own pages: a browser always sends Origin
// (or Sec-Fetch-Site) on a cross-site POST, so either one naming another site is refused.
export function isCrossOriginRequest(headers: Headers, expectedOrigin: string): boolean {
  const fetchSite = headers.get('sec-fetch-site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = headers.get('origin');
  if (!origin) return false;
  const host = headers.get('x-forwarded-host') ?? headers.get('host');
  const candidates = new Set([expectedOrigin]);
  if (host) candidates.add(`${new URL(expectedOrigin).protocol}//${host}`);
  return !candidates.has(origin);
}
