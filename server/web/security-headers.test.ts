import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { securityHeaders } from './security-headers';

describe('CSP and HSTS', () => {
  it('scripts only from the console or with the nonce; no framing, plugins or foreign form targets', () => {
    const csp = securityHeaders({ nonce: 'n0nce', publicOrigin: 'http://localhost:3000', development: false })['content-security-policy'];
    for (const part of ["script-src 'self' 'nonce-n0nce' 'strict-dynamic'", "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]) {
      assert.ok(csp.includes(part), part);
    }
    assert.ok(!csp.includes('unsafe-eval'), 'a production build never evaluates strings');
  });

  it('HSTS only when the public origin is https', () => {
    assert.equal(securityHeaders({ nonce: 'n', publicOrigin: 'http://localhost:3000', development: false })['strict-transport-security'], undefined);
    assert.equal(securityHeaders({ nonce: 'n', publicOrigin: undefined, development: false })['strict-transport-security'], undefined);
    assert.match(securityHeaders({ nonce: 'n', publicOrigin: 'https://hotplane.bank.example', development: false })['strict-transport-security']!, /^max-age=31536000; includeSubDomains$/);
  });
});
