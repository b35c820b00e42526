import 'server-only';
import { headers } from 'next/headers';
import { resolveSessionUser } from './session';

// For server components: the signed-in user of the request being rendered, or null.
export async function currentUser() {
  return resolveSessionUser(await headers());
}
