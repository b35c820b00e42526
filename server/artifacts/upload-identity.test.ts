import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { createConsoleFixture, type ConsoleFixture } from '../testing/console-fixture';
import { compileLedger } from '../testing/compile-ledger';
import { revokeVersion } from './catalog';

// What an upload's .so says about itself, asked in a throwaway probe process, and what the manifest may say.
describe('upload: identity probe, duplicate manifest keys, the version line', () => {
  let f: ConsoleFixture;

  before(async () => {
    f = await createConsoleFixture({ HOTPLANE_IDENTITY_PROBE_MS: '3000' });
  });

  const failedCheck = (result: { checks: { check: string; status: string; detail: string }[] }) => result.checks.find((c) => c.status === 'fail');

  it('attack: another module’s code, signed and labelled "ledger 9.0.0", is rejected by the identity probe and nothing is stored', async () => {
    const forged = await f.signedArtifact({ so: f.modulePath('risk-rules', '1.0.0'), module: 'ledger', version: '9.0.0' });
    const result = await f.upload(forged);
    assert.equal(result.outcome, 'rejected', result.message);
    assert.equal(failedCheck(result)?.check, 'identity');
    assert.match(failedCheck(result)!.detail, /the module is not what its manifest says: hp_module_name\(\) is "risk-rules", not "ledger"/);
    assert.equal(await f.db.moduleVersion.count({ where: { moduleName: 'ledger' } }), 0);
    assert.deepEqual(f.storeFiles(), []);
    const audit = await f.db.auditEvent.findFirstOrThrow({ where: { action: 'artifact.rejected', targetId: 'ledger@9.0.0' } });
    assert.match(audit.details, /"failedCheck":"identity"/);
  });

  it('attack: a ledger build that reports another version than its manifest is rejected by the identity probe', async () => {
    const wrong = await f.signedArtifact({ so: f.modulePath('ledger', '1.2.10', 'wrong-version'), module: 'ledger', version: '1.2.10' });
    const result = await f.upload(wrong);
    assert.equal(failedCheck(result)?.check, 'identity');
    assert.match(failedCheck(result)!.detail, /hp_module_version\(\) is "1\.1\.0", not "1\.2\.10"/);
  });

  it('attack: a module whose loading hangs is rejected when the identity probe runs past its limit', async () => {
    const so = await compileLedger(f.work, {
      file: 'ledger-hang.so',
      version: '1.0.5',
      extraC: '#include <unistd.h>\n__attribute__((constructor)) static void stall(void) { for (;;) pause(); }\n',
    });
    const result = await f.upload(await f.signedArtifact({ so, module: 'ledger', version: '1.0.5' }));
    assert.equal(failedCheck(result)?.check, 'identity');
    assert.match(failedCheck(result)!.detail, /loading and the identity calls took more than 3 s/);
  });

  it('attack: a signed manifest with a duplicate key is refused before anything is loaded', async () => {
    const so = f.modulePath('ledger', '1.0.0');
    const honest = await f.signedArtifact({ so, module: 'ledger', version: '1.0.0' });
    const text = await readFile(honest.manifest, 'utf8');
    const twice = text.replace('"version": "1.0.0",', '"version": "1.0.0",\n  "version": "9.9.9",');
    assert.notEqual(twice, text);
    const result = await f.upload(await f.signedArtifact({ so, module: 'ledger', version: '1.0.0', manifestText: twice }));
    assert.equal(result.outcome, 'rejected');
    assert.equal(failedCheck(result)?.check, 'manifest');
    assert.match(failedCheck(result)!.detail, /manifest has the key "version" twice/);
    assert.equal(result.checks.find((c) => c.check === 'signature')?.status, 'pass', 'the signature itself was good');
    assert.equal(result.checks.find((c) => c.check === 'identity')?.status, 'skip');
  });

  it('attack: once a wrongly high "ledger 9.0.0" is revoked, ledger 1.x uploads are accepted again', async () => {
    const high = await compileLedger(f.work, { file: 'ledger-9.0.0.so', version: '9.0.0' });
    const accepted = await f.upload(await f.signedArtifact({ so: high, module: 'ledger', version: '9.0.0' }));
    assert.equal(accepted.outcome, 'accepted', accepted.message);
    assert.equal(accepted.checks.find((c) => c.check === 'identity')?.status, 'pass');
    const blocked = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' }));
    assert.match(blocked.message, /version 1\.1\.0 is not above 9\.0\.0/);
    await revokeVersion(f.db, f.actor, accepted.versionId!, 'a release engineer signed the wrong number');
    const again = await f.upload(await f.signedArtifact({ so: f.modulePath('ledger', '1.1.0'), module: 'ledger', version: '1.1.0' }));
    assert.equal(again.outcome, 'accepted', again.message);
  });

  it('a Go c-shared module is probed in its own child and accepted', async () => {
    const result = await f.upload(await f.signedArtifact({ so: f.modulePath('edge-gateway', '1.0.0'), module: 'edge-gateway', version: '1.0.0', moduleClass: 'gateway' }));
    assert.equal(result.outcome, 'accepted', result.message);
    assert.match(result.checks.find((c) => c.check === 'identity')!.detail, /hp_module_name\(\) "edge-gateway"/);
  });
});
