import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { digestArtifactFile } from '../crypto/digest';
import { Host } from './host';
import { exampleArtifacts } from './testing';

// What the host says it loaded and unloaded, for the console's audit trail: the file, the SHA-256 of the bytes it
// verified, the signer serial the console named, and how it ended.

test('load, refusal and unload events carry the artifact’s path, SHA-256, signer serial and result', async () => {
  const artifacts = await exampleArtifacts();
  const dataDir = artifacts.tempDir();
  const host = new Host({ dataDir, fetchArtifact: async (sm3) => createReadStream(artifacts.artifactPath(sm3)) }).start();
  try {
    const good = { ...(await artifacts.version('ledger', '1.0.0', { config: 'alice 1\n', isolation: 'inproc' })), signerSerial: '0a:1b' };
    const wrongName = { ...(await artifacts.version('risk-rules', '1.0.0', { isolation: 'inproc' })), version: '1.0.0' };
    await host.applyDesiredState({ generation: 1, modules: [{ module: 'ledger', versions: [good] }, { module: 'payments', versions: [wrongName] }] });
    await host.applyDesiredState({ generation: 2, modules: [] });
    for (let i = 0; i < 200 && !host.recentEvents().some((e) => e.kind === 'disposed' && e.module === 'ledger'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const events = host.recentEvents();
    const { sha256 } = await digestArtifactFile(artifacts.artifactPath(good.sm3));
    const loaded = events.find((e) => e.module === 'ledger' && e.kind === 'serving')!;
    assert.deepEqual(loaded.artifact, { path: path.join(dataDir, 'artifacts', `${good.sm3}.so`), sha256, signerSerial: '0a:1b', result: 'loaded' });
    const refused = events.find((e) => e.module === 'payments' && e.kind === 'load-failed')!;
    assert.equal(refused.artifact?.result, 'refused');
    assert.match(refused.message, /hp_module_name\(\) is "risk-rules"/);
    assert.equal(refused.artifact?.signerSerial, undefined, 'no serial is made up when the console named none');
    const unloaded = events.find((e) => e.module === 'ledger' && e.kind === 'disposed')!;
    assert.deepEqual(unloaded.artifact, { ...loaded.artifact, result: 'unloaded' });
  } finally {
    await host.stop();
  }
});
