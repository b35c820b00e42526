import { NextResponse, type NextRequest } from 'next/server';
import { config as hotplaneConfig } from './server/config';
import { securityHeaders } from './server/web/security-headers';

// Per request: a fresh CSP nonce, given to Next.js on the request (it marks its own scripts with it) and to the
// browser on the response, plus HSTS when the public origin is https.
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString('base64');
  const headers = securityHeaders({ nonce, publicOrigin: hotplaneConfig().publicOrigin, development: process.env.NODE_ENV !== 'production' });
  const forwarded = new Headers(request.headers);
  forwarded.set('x-nonce', nonce);
  forwarded.set('content-security-policy', headers['content-security-policy']);
  const response = NextResponse.next({ request: { headers: forwarded } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const config = {
  // Pages only: API answers are JSON or files, and static assets carry no inline script.
  matcher: [{ source: '/((?!api/|_next/static|_next/image|favicon.ico).*)', missing: [{ type: 'header', key: 'next-router-prefetch' }] }],
};
