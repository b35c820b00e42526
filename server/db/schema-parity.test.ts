import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { applyMigrations, listMigrations } from './migrate';
import { prismaModels, SQLITE_TYPE } from './schema-models';

// The migrations are written by hand (the schema engine is not downloadable everywhere), so this test is what
// keeps them equal to schema.prisma: every model a table, every scalar field a column of the matching type.

describe('migrations and schema.prisma agree', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotplane-parity-'));
  const url = `file:${path.join(dir, 'parity.db')}`;
  const first = applyMigrations(url);
  const schema = readFileSync(path.join(process.cwd(), 'prisma', 'schema.prisma'), 'utf8');
  const db = new Database(url.slice('file:'.length), { readonly: true });

  it('applies every migration once and records it the way prisma migrate does', () => {
    assert.deepEqual(first.applied, listMigrations().map((m) => m.name));
    assert.deepEqual(applyMigrations(url).applied, []);
    const rows = db.prepare('SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name').all() as {
      migration_name: string;
      checksum: string;
      finished_at: string | null;
    }[];
    assert.deepEqual(rows.map((r) => [r.migration_name, r.checksum]), listMigrations().map((m) => [m.name, m.checksum]));
    assert.ok(rows.every((r) => r.finished_at));
  });

  for (const model of prismaModels(schema)) {
    it(`table ${model.table} has every field of its model with the right type and nullability`, () => {
      const columns = db.prepare(`PRAGMA table_info("${model.table}")`).all() as { name: string; type: string; notnull: number }[];
      assert.ok(columns.length > 0, `table ${model.table} is missing`);
      const byName = new Map(columns.map((c) => [c.name, c]));
      for (const field of model.fields) {
        const column = byName.get(field.column);
        assert.ok(column, `${model.table}.${field.column} is missing`);
        assert.equal(column.type, SQLITE_TYPE[field.type], `${model.table}.${field.column} type`);
        assert.equal(column.notnull === 0, field.optional, `${model.table}.${field.column} nullability`);
      }
      assert.equal(columns.length, model.fields.length, `${model.table} has columns the model does not: ${columns.map((c) => c.name).join(', ')}`);
    });
  }
});
