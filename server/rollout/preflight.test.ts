import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { digestArtifactFile } from '../crypto/digest';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules';
import { probeProcessPreflight, type PreflightSubject } from './preflight';

// The preflight probe against the real example builds, good and faulty.

describe('preflight probe', () => {
  let dir: string;
  const subject = async (version: string, variant = 'standard', overrides: Partial<PreflightSubject> = {}): Promise<PreflightSubject> => {
    const file = exampleModulePath(dir, 'ledger', version, variant);
    return { module: 'ledger', version, path: file, sm3: (await digestArtifactFile(file)).sm3, config: '', selfTestLimitMs: 10_000, ...overrides };
  };

  before(async () => {
    dir = await buildExampleModules();
  });

  it('passes a good version, with its self-test report and timings', async () => {
    const result = await probeProcessPreflight(await subject('1.1.0'));
    assert.equal(result.ok, true, result.report);
    for (const timing of ['verifyMs', 'dlopenMs', 'initMs', 'selfTestMs'] as const) assert.ok(result.timings[timing]! >= 0, timing);
  });

  it('fails a version whose self-test fails, with the report', async () => {
    const result = await probeProcessPreflight(await subject('1.2.1', 'self-test-fail'));
    assert.equal(result.ok, false);
    assert.match(result.report, /hp_self_test returned -?\d+: /);
  });

  it('names the stage a crash interrupted', async () => {
    const result = await probeProcessPreflight(await subject('1.2.6', 'init-crash'));
    assert.equal(result.ok, false);
    assert.match(result.report, /the probe died \(signal SIGSEGV\) during hp_init/);
  });

  it('refuses a module that is not the version it claims, and bytes that are not the ones approved', async () => {
    const wrong = await probeProcessPreflight(await subject('1.2.10', 'wrong-version'));
    assert.deepEqual([wrong.ok, wrong.report], [false, 'hp_module_version() is "1.1.0", not "1.2.10"']);
    const swapped = await probeProcessPreflight(await subject('1.1.0', 'standard', { sm3: '0'.repeat(64) }));
    assert.equal(swapped.ok, false);
    assert.match(swapped.report, /the request was approved for 0{64}/);
  });
});
