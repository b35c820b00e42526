import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CrashMarker, readCrashMarker } from './crash-marker';
import { exampleArtifacts } from './testing';

const HOST_DIR = path.dirname(fileURLToPath(import.meta.url));
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(HOST_DIR, file)).href);

function markerFile() {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'hotplane-marker-')), 'inproc-call');
}

describe('crash marker', () => {
  it('names the call in progress and is blank between calls', () => {
    const file = markerFile();
    const marker = new CrashMarker(file);
    try {
      assert.equal(readCrashMarker(readFileSync(file, 'utf8')), null);
      marker.enter('risk-rules', '2.0.0');
      assert.deepEqual(readCrashMarker(readFileSync(file, 'utf8')), { module: 'risk-rules', version: '2.0.0' });
      marker.exit();
      assert.equal(readFileSync(file, 'utf8'), ' '.repeat(160));
      marker.enter('ledger', '1.0.0');
      assert.deepEqual(readCrashMarker(readFileSync(file, 'utf8')), { module: 'ledger', version: '1.0.0' });
    } finally {
      marker.close();
    }
  });

  it('still names the version after that version segfaults the process that loaded it in-process', async () => {
    const artifacts = await exampleArtifacts();
    const crash = await artifacts.version('ledger', '1.2.4', { variant: 'crash' });
    const file = markerFile();
    // A host's inproc call as module-runtime.ts makes it, in a process the module then kills.
    const script = `import { CrashMarker } from ${moduleUrl('crash-marker.ts')};
      import { ModuleLibrary } from ${moduleUrl('module-library.ts')};
      const marker = new CrashMarker(${JSON.stringify(file)});
      const library = ModuleLibrary.open(${JSON.stringify(artifacts.artifactPath(crash.sm3))});
      library.init(Buffer.from('alice 10\\n'));
      for (let i = 0; i < 100; i++) {
        marker.enter('ledger', '1.2.4');
        library.handle(Buffer.from('balance alice'));
        marker.exit();
      }`;
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
      child.on('exit', (_code, exitSignal) => resolve(exitSignal));
    });
    assert.equal(signal, 'SIGSEGV');
    assert.deepEqual(readCrashMarker(readFileSync(file, 'utf8')), { module: 'ledger', version: '1.2.4' });
  });
});
