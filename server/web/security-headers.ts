// Content-Security-Policy and HSTS for every page, set per request by proxy.ts. Scripts run only from the
// console's own origin or with this response's nonce (Next.js puts it on its own inline scripts), so an injected
// <script> does nothing; style attributes stay allowed (React writes them). HSTS is sent only when browsers reach
// the console over https, which HOTPLANE_PUBLIC_ORIGIN says.

export interface SecurityHeaderOptions {
  nonce: string;
  publicOrigin: string | undefined;
  /** next dev evaluates modules with eval (React's debugging); a production build never does. */
  development: boolean;
}

export const HSTS_MAX_AGE_SECONDS = 31_536_000;

export function contentSecurityPolicy({ nonce, development }: Pick<SecurityHeaderOptions, 'nonce' | 'development'>): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(options: SecurityHeaderOptions): Record<string, string> {
  const headers: Record<string, string> = { 'content-security-policy': contentSecurityPolicy(options) };
  if (options.publicOrigin?.startsWith('https://')) headers['strict-transport-security'] = `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`;
  return headers;
}
