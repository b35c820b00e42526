import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';

describe('upload pipeline: accepted versions', () => {
  let f: ConsoleFixture;
  before(async () => {
    f = await createConsoleFixture();
  });

  it('accepts a signed ledger 1.0.0 into the read-only, content-addressed store with its report and audit event', async () => {
    const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' }));
    assert.equal(result.outcome, 'accepted', result.message);
    assert.ok(result.checks.every((c) => c.status !== 'fail'));
    const version = await f.db.moduleVersion.findUniqueOrThrow({ where: { moduleName_version: { moduleName: 'ledger', version: '1.0.0' } } });
    assert.equal(version.storePath, path.join(f.dataDir, 'artifacts', `${version.sm3}.so`));
    assert.equal(statSync(version.storePath).mode & 0o777, 0o444);
    assert.deepEqual(f.storeFiles(), [`${version.sm3}.so`, `${version.sm3}.so.manifest.json`, `${version.sm3}.so.manifest.sig`]);
    const event = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'artifact.accepted' } });
    const details = JSON.parse(event.details);
    assert.equal(details.sha256, version.sha256);
    assert.equal(details.signerDn, 'CN=Release,O=Test Bank,C=CN');
    assert.equal(details.reportId, version.reportId);
    assert.ok(details.effectiveTime);
  });

  it('treats an identical re-upload as idempotent', async () => {
    const before = f.storeFiles();
    const result = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.0.0'), module: 'ledger', version: '1.0.0' }));
    assert.equal(result.outcome, 'duplicate');
    assert.equal(await f.db.moduleVersion.count({ where: { moduleName: 'ledger' } }), 1);
    assert.deepEqual(f.storeFiles(), before);
  });

  it('accepts a rising version and refuses one that does not rise', async () => {
    const next = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' }));
    assert.equal(next.outcome, 'accepted', next.message);
    const lower = await f.upload(
      await f.signedArtifact({ so: f.modulePath('ledger', '1.2.2', 'slow'), module: 'ledger', version: '1.0.5' }),
    );
    assert.equal(lower.outcome, 'rejected');
    assert.match(lower.message, /version-policy.*1\.0\.5 is not above 1\.1\.0/);
  });

  it('records a Go module as carrying a Go runtime', async (t) => {
    const go = f.modulePath('edge-gateway', '1.0.0');
    try {
      statSync(go);
    } catch {
      t.skip('go is not installed, the Go example module was not built');
      return;
    }
    const result = await f.upload(await f.signedArtifact({ so: go, module: 'edge-gateway', version: '1.0.0', moduleClass: 'gateway' }));
    assert.equal(result.outcome, 'accepted', result.message);
    assert.match(result.checks.find((c) => c.check === 'go-runtime')!.detail, /Go runtime detected/);
    const version = await f.db.moduleVersion.findFirstOrThrow({ where: { moduleName: 'edge-gateway' } });
    assert.equal(version.goRuntime, true);
  });
});
