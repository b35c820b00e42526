import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { buildExampleModules, exampleModulePath } from '../demo/example-modules';

// `hotplane inspect` (the real binary): what it says about static TLS, and how it ends when its reader goes away.

const BIN = path.resolve('bin/hotplane.js');

describe('hotplane inspect', () => {
  let modules: string;
  before(async () => {
    modules = await buildExampleModules();
  });

  it('piped into a reader that has closed (| head -1), it exits 0 without a stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'inspect', exampleModulePath(modules, 'ledger', '1.1.0')], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before the CLI writes a byte: every write it makes meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('says a C module’s static TLS is refused, and how to rebuild it', () => {
    const result = spawnSync(process.execPath, [BIN, 'inspect', exampleModulePath(modules, 'ledger', '1.2.11', 'static-tls')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /static TLS {3}YES: refused by the upload pipeline .*rebuild with -ftls-model=global-dynamic/);
    assert.match(result.stdout, /Go runtime {3}no/);
  });

  it('says a Go module is accepted with its static TLS', (t) => {
    const gateway = exampleModulePath(modules, 'edge-gateway', '1.0.0');
    if (!existsSync(gateway)) return t.skip('edge-gateway was not built (no Go toolchain)');
    const result = spawnSync(process.execPath, [BIN, 'inspect', gateway], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /static TLS {3}yes, from the Go runtime: accepted \(a Go module always loads alone into a fresh cell process\)/);
    assert.match(result.stdout, /Go runtime {3}yes \(go[\d.]+\): accepted; runs alone in its own process cell/);
    assert.doesNotMatch(result.stdout, /refused/);
  });
});
