import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// The import rule of eslint.config.mjs, run through ESLint's API on files that break it (linted as text at paths
// inside the project, so the resolver sees real neighbours), and on one that keeps to it.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the one-way import flow (eslint.config.mjs)', () => {
  let eslint: ESLint;
  const problems = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
    return result.messages.filter((m) => m.ruleId === 'import/no-restricted-paths').map((m) => m.message);
  };

  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  it('attack: the host cannot import the console’s database or its fleet domain', async () => {
    const db = await problems('server/host/flow-probe.ts', "import { db } from '../db/client';\nexport const x = db;\n");
    assert.equal(db.length, 1);
    assert.match(db[0], /the host imports only server\/protocol/);
    const fleet = await problems('server/host/flow-probe.ts', "import { readDesiredState } from '../fleet/desired-state';\nexport const x = readDesiredState;\n");
    assert.equal(fleet.length, 1);
  });

  it('attack: server/protocol cannot import anything of the project', async () => {
    const found = await problems('server/protocol/flow-probe.ts', "import { DomainError } from '../errors';\nexport const x = DomainError;\n");
    assert.equal(found.length, 1);
    assert.match(found[0], /imports packages only/);
  });

  it('attack: domain code cannot import the API layer, pages cannot import the database (alias paths included)', async () => {
    assert.equal((await problems('server/fleet/flow-probe.ts', "import { appRouter } from '../api/root';\nexport const x = appRouter;\n")).length, 1);
    assert.equal((await problems('components/flow-probe.tsx', "import { db } from '@/server/db/client';\nexport const x = db;\n")).length, 1);
  });

  it('lets the host import the protocol, crypto and the ELF reader, and the console import the protocol', async () => {
    const host = "import { FLEET_PATHS } from '../protocol';\nimport { sm3Hex } from '../crypto';\nimport { inspectElf } from '../artifacts/elf';\nexport const x = [FLEET_PATHS, sm3Hex, inspectElf];\n";
    assert.deepEqual(await problems('server/host/flow-probe.ts', host), []);
    assert.deepEqual(await problems('server/fleet/flow-probe.ts', "import { FLEET_PATHS } from '../protocol';\nexport const x = FLEET_PATHS;\n"), []);
  });
});
