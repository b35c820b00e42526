import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VersionStatus } from '../protocol';
import { versionHealth, type ReportingHost } from './health';

function status(fields: Partial<VersionStatus>): VersionStatus {
  return {
    module: 'ledger', version: '1.0.0', sm3: 'a'.repeat(64), isolation: 'inproc', phase: 'serving', weight: 100, healthy: true,
    load: {}, inFlight: 0, goRuntime: false, since: '2026-11-22T09:00:00.000Z', ...fields,
  };
}

const host = (name: string, versions: VersionStatus[], fields: Partial<ReportingHost> = {}): ReportingHost => ({
  name, online: true, appliedGeneration: 3, versions, ...fields,
});

describe('health of a desired version across hosts', () => {
  it('is healthy only when every online host serves it healthily', () => {
    assert.deepEqual(versionHealth([host('a', [status({})]), host('b', [status({})])], 'ledger', '1.0.0', 3), { state: 'healthy' });
  });

  it('says which host is the problem and why', () => {
    const hosts = [host('a', [status({})]), host('b', [status({ healthy: false, reason: 'unhealthy: hp_health returned 3' })])];
    assert.deepEqual(versionHealth(hosts, 'ledger', '1.0.0', 3), { state: 'unhealthy', reason: 'b: unhealthy: hp_health returned 3' });
    const failed = [host('a', [status({ phase: 'failed', healthy: false, reason: 'self-test failed: transfer lost 1' })])];
    assert.deepEqual(versionHealth(failed, 'ledger', '1.0.0', 3), { state: 'failing', reason: 'a: failed: self-test failed: transfer lost 1' });
  });

  it('counts the instance that stays when a host replaces one (draining old, loading new)', () => {
    const replacing = [host('a', [status({ phase: 'draining' }), status({ phase: 'loading', healthy: false, isolation: 'process' })])];
    assert.deepEqual(versionHealth(replacing, 'ledger', '1.0.0', 3), { state: 'starting', reason: 'a: loading' });
  });

  it('tells a host that has not caught up from one that lost the version, and ignores offline hosts', () => {
    assert.equal(versionHealth([host('a', [], { appliedGeneration: 2 })], 'ledger', '1.0.0', 3).state, 'pending');
    assert.deepEqual(versionHealth([host('a', [])], 'ledger', '1.0.0', 3), { state: 'failing', reason: 'a does not run it' });
    assert.equal(versionHealth([host('a', [], { online: false })], 'ledger', '1.0.0', 3).state, 'unknown');
  });
});
